"""Typed results of registry checks, as operators hand them to the process (via `to_dict()`).

Every result says `found` first: "the registry has no such record" is an answer the process
decides on (a reason code), never an error. Comparisons with what the applicant typed are
`exact`, `fuzzy` (equal after normalising case, spaces, hyphens and ё) or `mismatch`; `mismatches`
names the fields that differ, for the operator who reviews the case; `holder_spelling` (only when a
name part is `fuzzy`) is the registry's own spelling of those parts, e.g. {"last_name": "Фёдоров"}.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Match = Literal["exact", "fuzzy", "partial", "mismatch"]
PassportStatus = Literal["valid", "expired", "replaced", "lost"]
PolicyStatus = Literal["active", "annulled", "expired"]
RepresentativeFact = Literal["head_confirmed", "head_not_confirmed", "power_of_attorney"]


class _Result:
    # Fields left out of `to_dict()` while None, so results without them keep their documented shape.
    _omitted_when_none: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        facts = asdict(self)  # type: ignore[call-overload]
        for key in self._omitted_when_none:
            if facts.get(key) is None:
                facts.pop(key, None)
        return facts


@dataclass(frozen=True)
class PassportCheck(_Result):
    found: bool
    status: PassportStatus | None = None
    holder_match: Match | None = None
    document_match: Literal["exact", "mismatch"] | None = None  # issue date and division code
    mismatches: list[str] = field(default_factory=list)
    holder_spelling: dict[str, str] | None = None
    _omitted_when_none = ("holder_spelling",)


@dataclass(frozen=True)
class SnilsCheck(_Result):
    found: bool
    holder_match: Match | None = None
    mismatches: list[str] = field(default_factory=list)
    holder_spelling: dict[str, str] | None = None
    _omitted_when_none = ("holder_spelling",)


@dataclass(frozen=True)
class Insurer:
    name: str
    code: str


@dataclass(frozen=True)
class PolicyLookup(_Result):
    found: bool
    lookup: Literal["enp", "snils"]
    enp: str | None = None
    insurer: Insurer | None = None
    region: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None  # None: unlimited
    status: PolicyStatus | None = None
    reason: str | None = None  # Russian text from ЕРЗЛ when the policy is not active
    covers_period: bool = False  # active, and valid over the whole requested period
    holder_match: Match | None = None  # the record's СНИЛС, birth date and holder vs the applicant
    mismatches: list[str] = field(default_factory=list)
    holder_spelling: dict[str, str] | None = None
    _omitted_when_none = ("holder_spelling",)


@dataclass(frozen=True)
class OrganizationLookup(_Result):
    found: bool
    inn: str
    kpp: str | None = None
    ogrn: str | None = None
    name: str | None = None
    short_name: str | None = None
    legal_address: str | None = None
    status: Literal["active", "liquidated"] | None = None
    liquidated_on: str | None = None
    contributions_paid: bool | None = None
    ogrn_match: bool | None = None  # None when the applicant gave no ОГРН
    kpp_match: bool | None = None
    name_match: Match | None = None


@dataclass(frozen=True)
class OrganizationCheck(_Result):
    """ЕГРЮЛ facts about the organisation on an application; the process's DMN decides on them.

    `match` is `mismatch` when the register has no such ИНН or any of ИНН/КПП/ОГРН/name differs
    (`mismatches` names them), `fuzzy` when only the name differs in spelling, else `exact`.
    `representative` (only when the check was given the applicant's representative): `head_confirmed`
    when the applicant claims to be the head and ЕГРЮЛ's head has the same ФИО (compared leniently),
    `head_not_confirmed` when it differs or ЕГРЮЛ names no head (or has no such organisation),
    `power_of_attorney` when the applicant acts by a power of attorney.
    """

    found: bool
    status: Literal["active", "liquidated"] | None = None
    contributions_paid: bool | None = None
    match: Literal["exact", "fuzzy", "mismatch"] = "mismatch"
    mismatches: list[str] = field(default_factory=list)
    registry_name: str | None = None
    # Given the applicant's representative block: whether ЕГРЮЛ names them as the head, or that they act by
    # a power of attorney (checked by an operator against its scan); absent when no block was given.
    representative: RepresentativeFact | None = None

    def to_dict(self) -> dict[str, Any]:
        facts = asdict(self)
        if self.representative is None:
            facts.pop("representative")
        return facts


@dataclass(frozen=True)
class MedicalOrganization(_Result):
    ogrn: str
    inn: str
    name: str
    short_name: str
    address: str
    phone: str
    email: str
    programs: list[str]
    license_valid_to: str | None
    accredited: bool
    region: str | None = None
    legal_address: str | None = None
    specialties: list[str] = field(default_factory=list)
