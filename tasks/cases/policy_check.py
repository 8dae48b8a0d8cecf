"""The public policy check: ЕНП + birth date -> insurer and validity, nothing when they do not match;
and «Мой полис», the signed-in citizen's own policy found from their profile.

Anyone may ask, so the answer must not let a stranger learn whose policy a number is: a wrong
birth date answers exactly like an unknown number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tasks.registries.checks import find_policy
from tasks.registries.client import RegistryClient


@dataclass(frozen=True)
class PolicyStatus:
    found: bool
    status: str | None = None  # active | expired | annulled
    insurer: dict[str, Any] | None = None
    region: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None


def check_policy(client: RegistryClient, enp: str, birth_date: str) -> PolicyStatus:
    """Raises RegistryUnavailable when ЕРЗЛ cannot answer (the caller says «попробуйте позже»)."""
    record = client.post("erzl", "/erzl/policy", {"enp": enp})  # the ЕНП in the body, never in a URL
    if record is None or record.get("birth_date") != birth_date:
        return PolicyStatus(found=False)
    return PolicyStatus(True, record["status"], record.get("insurer"), record.get("region"),
                        record.get("valid_from"), record.get("valid_to"))


@dataclass(frozen=True)
class OwnPolicy:
    """The signed-in citizen's current policy («Мой полис»), or why it is not shown.

    `outcome`: `found`; `no_identity` (the profile has neither ЕНП nor birth date to look it up by);
    `not_found` (ЕРЗЛ has no policy for that identity, or the one it has is someone else's - the same
    answer, so a typed-in number never reveals another person's policy).
    """

    outcome: str
    enp: str | None = None
    status: str | None = None  # active | expired | annulled
    insurer: dict[str, Any] | None = None
    region: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    reason: str | None = None  # ЕРЗЛ's words on why a policy is not active

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "enp": self.enp, "status": self.status, "insurer": self.insurer,
                "region": self.region, "valid_from": self.valid_from, "valid_to": self.valid_to,
                "reason": self.reason}


def own_policy(client: RegistryClient, person: Mapping[str, Any], enp: str | None) -> OwnPolicy:
    """The current policy of `person` (ФИО, birth_date and, when known, snils) found by the profile's ЕНП,
    else by СНИЛС and birth date; shown only when ЕРЗЛ's record is this person's (birth date, СНИЛС and,
    where ЕРЗЛ knows them, ФИО - ё/е and case aside). Raises RegistryUnavailable when ЕРЗЛ cannot answer."""
    if not person.get("birth_date") or not (enp or person.get("snils")):
        return OwnPolicy("no_identity")
    found = find_policy(client, person, enp, None)
    if not found.found or found.holder_match not in ("exact", "fuzzy"):
        return OwnPolicy("not_found")
    return OwnPolicy("found", found.enp, found.status, asdict(found.insurer) if found.insurer else None,
                     found.region, found.valid_from, found.valid_to, found.reason)
