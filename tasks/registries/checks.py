"""Registry checks of an application: what to ask which registry, and how to read the answer.

Each function takes a RegistryClient and the application's data (the `person` object of
POST /applications) and returns a typed result. Decisions (approve, reject, send to an
operator) are not made here: the process (BPMN/DMN) makes them from these results.
Identifiers are compared as digits, so `112-233-445 95` and `11223344595` are the same СНИЛС.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from forms.coverage import PolicyTerm, policy_covers
from forms.dates import today_moscow

from .client import RegistryClient, RegistryProtocolError
from .matching import NAME_FIELDS, compare_holder, compare_org_name, iso_date, name_parts, worst
from .results import (
    Insurer,
    MedicalOrganization,
    OrganizationCheck,
    OrganizationLookup,
    PassportCheck,
    PolicyLookup,
    RepresentativeFact,
    SnilsCheck,
)


class InvalidInput(ValueError):
    """The data given to a check lacks what the check needs (a bug in the process, not in the registry)."""


def digits(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def _required(mapping: Mapping[str, Any] | None, key: str) -> Any:
    value = (mapping or {}).get(key)
    if value in (None, ""):
        raise InvalidInput(f"{key} is required")
    return value


def check_passport(client: RegistryClient, person: Mapping[str, Any]) -> PassportCheck:
    """МВД: is the passport valid, and is it this person's?"""
    passport = _required(person, "passport")
    series, number = digits(_required(passport, "series")), digits(_required(passport, "number"))
    if len(series) != 4 or len(number) != 6:
        return PassportCheck(found=False)
    record = client.post("mvd", "/mvd/passport", {"series": series, "number": number})
    if record is None:
        return PassportCheck(found=False)
    holder = compare_holder(person, record["holder"])
    document = [f"passport.{k}" for k in ("issued_on", "division_code")
                if passport.get(k) and iso_date(passport[k]) != iso_date(record.get(k))]
    return PassportCheck(found=True, status=record["status"], holder_match=holder.level,
                         document_match="mismatch" if document else "exact",
                         mismatches=holder.mismatches + document, holder_spelling=holder.spelling or None)


def update_personal_data(client: RegistryClient, person: Mapping[str, Any], policy_number: str) -> dict[str, Any]:
    """ЕРЗЛ: write the person's ФИО and passport into the record of the policy `policy_number`.

    {updated: True, changed, holder, passport} as the registry now has it, or {updated: False} when
    ЕРЗЛ knows no such policy for this birth date. The registry applies a repeated change as a no-op,
    so the client's and the engine's retries of this write are safe.
    """
    enp = digits(_required({"policy_number": policy_number}, "policy_number"))
    passport = _required(person, "passport")
    body = {"enp": enp, "birth_date": iso_date(_required(person, "birth_date")),
            "last_name": _required(person, "last_name"), "first_name": _required(person, "first_name"),
            "middle_name": person.get("middle_name") or "",
            "passport": {"series": digits(_required(passport, "series")),
                         "number": digits(_required(passport, "number")),
                         "issued_on": iso_date(_required(passport, "issued_on")),
                         "issued_by": _required(passport, "issued_by"),
                         "division_code": _required(passport, "division_code")}}
    record = client.post("erzl", "/erzl/personal-data", body)
    if record is None:
        return {"updated": False}
    return {"updated": True, "changed": bool(record.get("changed")), "holder": record.get("holder"),
            "passport": record.get("passport")}


def check_snils(client: RegistryClient, person: Mapping[str, Any]) -> SnilsCheck:
    """СФР: whose СНИЛС is it, and is that the applicant?"""
    snils = digits(_required(person, "snils"))
    if len(snils) != 11:
        return SnilsCheck(found=False)
    record = client.post("sfr", "/sfr/person", {"snils": snils})
    if record is None:
        return SnilsCheck(found=False)
    holder = compare_holder(person, record["holder"])
    return SnilsCheck(found=True, holder_match=holder.level, mismatches=holder.mismatches,
                      holder_spelling=holder.spelling or None)


def find_policy(client: RegistryClient, person: Mapping[str, Any], policy_number: str | None,
                period: Mapping[str, Any] | None) -> PolicyLookup:
    """ЕРЗЛ: the policy by its number (ЕНП) when the applicant gave one, else by СНИЛС and birth date.

    A number that is not in the register is reported as not found (the applicant's number is
    wrong), not replaced by a lookup by СНИЛС: the process decides what that means.
    """
    start, end = _period(period)
    if policy_number:
        enp = digits(policy_number)
        record = client.post("erzl", "/erzl/policy", {"enp": enp}) if len(enp) == 16 else None
        if record is None:
            return PolicyLookup(found=False, lookup="enp", enp=enp)
        lookup = "enp"
    else:
        snils, birth_date = digits(_required(person, "snils")), iso_date(_required(person, "birth_date"))
        answer = client.post("erzl", "/erzl/policies", {"snils": snils, "birth_date": birth_date}) or {}
        record = _current(answer.get("policies") or [])
        if record is None:
            return PolicyLookup(found=False, lookup="snils")
        lookup = "snils"
    level, mismatches, spelling = _policy_holder_match(person, record)
    valid_from, valid_to = record["valid_from"], record.get("valid_to")
    covers = policy_covers(PolicyTerm.of(record), start, end)
    return PolicyLookup(
        found=True, lookup=lookup, enp=record["enp"], insurer=Insurer(**record["insurer"]),
        region=record.get("region"), valid_from=valid_from, valid_to=valid_to, status=record["status"],
        reason=record.get("reason"), covers_period=covers, holder_match=level, mismatches=mismatches,
        holder_spelling=spelling or None,
    )


def _period(period: Mapping[str, Any] | None) -> tuple[date, date]:
    """The requested period as dates; no period means "today"."""
    if not period:
        today = today_moscow()
        return today, today
    try:
        start = date.fromisoformat(iso_date(_required(period, "from")))
        end = date.fromisoformat(iso_date(_required(period, "to")))
    except ValueError as exc:
        raise InvalidInput(f"period: {exc}") from exc
    if end < start:
        raise InvalidInput("period: 'to' is before 'from'")
    return start, end


def _current(policies: list[dict]) -> dict | None:
    """Of a person's policies, the active one; failing that, the latest (whose status says why it ended)."""
    if not policies:
        return None
    return max(policies, key=lambda p: (p["status"] == "active", p["valid_from"]))


def _policy_holder_match(person: Mapping[str, Any],
                         record: Mapping[str, Any]) -> tuple[str, list[str], dict[str, str]]:
    """The policy's СНИЛС and birth date (and, where ЕРЗЛ knows the holder, the ФИО) against the applicant;
    the third item is ЕРЗЛ's spelling of the name parts that match only in spelling."""
    levels, mismatches, spelling = [], [], {}
    applicant_snils = digits(person.get("snils"))
    if applicant_snils and record.get("snils") and applicant_snils != record["snils"]:
        mismatches.append("snils")
    if iso_date(person.get("birth_date")) != iso_date(record.get("birth_date")):
        mismatches.append("birth_date")
    if record.get("holder"):
        names = compare_holder({**person, "birth_date": record.get("birth_date")}, record["holder"])
        levels.append(names.level)
        mismatches += names.mismatches
        spelling = names.spelling
    levels.append("mismatch" if mismatches else "exact")
    return worst(levels), mismatches, spelling


def _egrul_record(client: RegistryClient, inn: str) -> dict | None:
    """ЕГРЮЛ's record of the organisation with this ИНН (None: no such organisation)."""
    return client.get("egrul", f"/egrul/organizations/{inn}") if len(inn) == 10 else None


def find_organization(client: RegistryClient, inn: str, ogrn: str | None = None, kpp: str | None = None,
                      name: str | None = None) -> OrganizationLookup:
    """ЕГРЮЛ: the organisation by ИНН; ОГРН, КПП and name, when given, are compared with the record."""
    inn = digits(inn)
    return _lookup(inn, _egrul_record(client, inn), ogrn, kpp, name)


def _lookup(inn: str, record: Mapping[str, Any] | None, ogrn: str | None, kpp: str | None,
            name: str | None) -> OrganizationLookup:
    if record is None:
        return OrganizationLookup(found=False, inn=inn)
    return OrganizationLookup(
        found=True, inn=record["inn"], kpp=record["kpp"], ogrn=record["ogrn"], name=record["name"],
        short_name=record.get("short_name"), legal_address=record["legal_address"], status=record["status"],
        liquidated_on=record.get("liquidated_on"), contributions_paid=record["contributions_paid"],
        ogrn_match=digits(ogrn) == record["ogrn"] if ogrn else None,
        kpp_match=str(kpp).strip().upper() == record["kpp"] if kpp else None,
        name_match=compare_org_name(name, (record["name"], record.get("short_name"))) if name else None,
    )


def check_organization(client: RegistryClient, organization: Mapping[str, Any],
                       representative: Mapping[str, Any] | None = None) -> OrganizationCheck:
    """ЕГРЮЛ: does the organisation on an application exist, is it active and paying, is it the one typed?
    Given the application's `representative`, also: is the self-declared head the head ЕГРЮЛ names?"""
    if representative is not None and not isinstance(representative, Mapping):
        raise InvalidInput("representative must be an object")
    inn = digits(_required(organization, "inn"))
    record = _egrul_record(client, inn)
    found = _lookup(inn, record, organization.get("ogrn"), organization.get("kpp"), organization.get("name"))
    fact = representative_fact(representative, record) if representative is not None else None
    if not found.found:
        return OrganizationCheck(found=False, mismatches=["inn"], representative=fact)
    mismatches = [name for name, bad in (("inn", found.inn != inn), ("kpp", found.kpp_match is False),
                                         ("ogrn", found.ogrn_match is False),
                                         ("name", found.name_match == "mismatch")) if bad]
    match = "mismatch" if mismatches else "fuzzy" if found.name_match == "fuzzy" else "exact"
    return OrganizationCheck(found=True, status=found.status, contributions_paid=found.contributions_paid,
                             match=match, mismatches=mismatches, registry_name=found.name, representative=fact)


def representative_fact(representative: Mapping[str, Any], record: Mapping[str, Any] | None) -> RepresentativeFact:
    """What ЕГРЮЛ says of the applicant's authority: a head is confirmed when ЕГРЮЛ's head has the same ФИО
    (case, ё, spaces and hyphens aside); a power of attorney is for an operator to check against its scan."""
    if representative.get("authority") == "power_of_attorney":
        return "power_of_attorney"
    head = (record or {}).get("head")
    if not isinstance(head, Mapping):
        return "head_not_confirmed"
    applicant = name_parts(representative.get("full_name"))
    level = compare_holder(applicant, {k: head.get(k) for k in NAME_FIELDS}).level
    return "head_confirmed" if level in ("exact", "fuzzy") else "head_not_confirmed"


def medical_organization_records(client: RegistryClient, program: str | None = None) -> list[dict[str, Any]]:
    """The register's records of medical organisations as given (extra fields included), optionally only
    those working under `program`; the directory keeps them whole."""
    answer = client.get("mo", "/mo/organizations", {"program": program} if program else None) or {}
    records = answer.get("organizations")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RegistryProtocolError("mo /mo/organizations: expected a list of organisations")
    return records


def medical_organizations(client: RegistryClient, program: str | None = None) -> list[MedicalOrganization]:
    """The register of medical organisations, optionally only those working under `program`."""
    fields = MedicalOrganization.__dataclass_fields__
    return [MedicalOrganization(**{**{k: org.get(k) for k in fields}, "specialties": org.get("specialties") or []})
            for org in medical_organization_records(client, program)]
