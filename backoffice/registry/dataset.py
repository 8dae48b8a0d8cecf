"""The registry dataset: loading, validation against the documented shape, and lookup indices.

The shape is in README, «The registry service and its demo data».

Records are kept as given, extra fields included (the demo dataset adds `scenario`,
`applicant_overrides`, `sfr_record`, `other_passports`, `issued_by`, ...). A dataset that does
not fit the shape is refused as a whole with every problem listed, so a drill never starts on a
half-loaded register. Identifiers are stored as digits only (a СНИЛС may be written
`112-233-445 95` in the file) so that lookups do not depend on how a number was typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_DATE = {"type": "string", "format": "date"}
_OPT_DATE = {"type": ["string", "null"], "format": "date"}
_TEXT = {"type": "string", "minLength": 1}
_SNILS = {"type": "string", "pattern": r"^\d{3}-?\d{3}-?\d{3}[ -]?\d{2}$"}

_PASSPORT = {
    "type": "object",
    "required": ["series", "number", "issued_on", "division_code", "status"],
    "properties": {
        "series": {"type": "string", "pattern": r"^\d{4}$"},
        "number": {"type": "string", "pattern": r"^\d{6}$"},
        "issued_on": _DATE,
        "division_code": {"type": "string", "pattern": r"^\d{3}-\d{3}$"},
        "status": {"enum": ["valid", "expired", "replaced", "lost"]},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["persons", "policies", "organizations", "medical_organizations"],
    "properties": {
        "persons": {"type": "array", "items": {
            "type": "object",
            "required": ["last_name", "first_name", "birth_date", "snils", "passport"],
            "properties": {
                "last_name": _TEXT, "first_name": _TEXT, "middle_name": {"type": ["string", "null"]},
                "birth_date": _DATE, "snils": _SNILS,
                "inn": {"type": ["string", "null"], "pattern": r"^\d{12}$"},
                "passport": _PASSPORT,
                "other_passports": {"type": "array", "items": _PASSPORT},
                "sfr_record": {"type": "object"},
            },
        }},
        "policies": {"type": "array", "items": {
            "type": "object",
            "required": ["enp", "snils", "birth_date", "insurer", "region", "valid_from", "valid_to", "status"],
            "properties": {
                "enp": {"type": "string", "pattern": r"^\d{16}$"},
                "snils": {"anyOf": [_SNILS, {"type": "null"}]},
                "birth_date": _DATE,
                "insurer": {"type": "object", "required": ["name", "code"],
                            "properties": {"name": _TEXT, "code": _TEXT}},
                "region": _TEXT, "valid_from": _DATE, "valid_to": _OPT_DATE,
                "status": {"enum": ["active", "annulled", "expired"]},
                "reason": {"type": ["string", "null"]},
            },
        }},
        "organizations": {"type": "array", "items": {
            "type": "object",
            "required": ["inn", "kpp", "ogrn", "name", "legal_address", "status", "contributions_paid"],
            "properties": {
                "inn": {"type": "string", "pattern": r"^\d{10}$"},
                "kpp": {"type": "string", "pattern": r"^\d{4}[0-9A-Z]{2}\d{3}$"},
                "ogrn": {"type": "string", "pattern": r"^\d{13}$"},
                "name": _TEXT, "legal_address": _TEXT,
                "status": {"enum": ["active", "liquidated"]},
                "contributions_paid": {"type": "boolean"},
            },
        }},
        "medical_organizations": {"type": "array", "items": {
            "type": "object",
            "required": ["ogrn", "inn", "name", "short_name", "address", "phone", "email", "programs",
                         "license_valid_to", "accredited"],
            "properties": {
                "ogrn": {"type": "string", "pattern": r"^\d{13}$"},
                "inn": {"type": "string", "pattern": r"^\d{10}$"},
                "name": _TEXT, "short_name": _TEXT, "address": _TEXT, "phone": _TEXT, "email": _TEXT,
                "programs": {"type": "array", "items": _TEXT},
                "license_valid_to": _OPT_DATE, "accredited": {"type": "boolean"},
                "region": _TEXT, "legal_address": _TEXT, "specialties": {"type": "array", "items": _TEXT},
            },
        }},
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


class DatasetError(ValueError):
    """The dataset does not fit its schema; `problems` lists every reason, with its JSON path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"registry dataset {source} is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


def digits(value: str | None) -> str:
    """Only the digits of an identifier typed with separators (`112-233-445 95` -> `11223344595`)."""
    return re.sub(r"\D", "", value or "")


@dataclass
class Dataset:
    persons: list[dict]
    policies: list[dict]
    organizations: list[dict]
    medical_organizations: list[dict]
    passports: dict[tuple[str, str], tuple[dict, dict]] = field(default_factory=dict)  # -> (passport, person)
    persons_by_snils: dict[str, dict] = field(default_factory=dict)
    policies_by_enp: dict[str, dict] = field(default_factory=dict)
    policies_by_snils: dict[str, list[dict]] = field(default_factory=dict)
    organizations_by_inn: dict[str, dict] = field(default_factory=dict)
    organizations_by_ogrn: dict[str, dict] = field(default_factory=dict)
    medical_by_ogrn: dict[str, dict] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"persons": len(self.persons), "policies": len(self.policies),
                "organizations": len(self.organizations), "medical_organizations": len(self.medical_organizations)}


# The demo dataset served when REGISTRY_DATA names no other file.
BUNDLED_DATA = Path(__file__).resolve().parent / "demo_data.json"


def load_dataset(path: str | Path | None = None) -> Dataset:
    """Read and validate a dataset file (None: the bundled demo dataset); raises DatasetError (also for
    unreadable or non-JSON files)."""
    path = Path(path) if path is not None else BUNDLED_DATA
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(str(path), [f"cannot read: {exc}"]) from exc
    return build_dataset(raw, str(path))


def build_dataset(raw: Any, source: str = "<data>") -> Dataset:
    """Validate `raw` and index it; raises DatasetError listing every problem found."""
    problems = [f"{_json_path(err.absolute_path)}: {err.message}" for err in _VALIDATOR.iter_errors(raw)]
    if problems:
        raise DatasetError(source, sorted(problems))
    data = Dataset(
        persons=[_with_digits(p, "snils", "inn") for p in raw["persons"]],
        policies=[_with_digits(p, "snils") for p in raw["policies"]],
        organizations=list(raw["organizations"]),
        medical_organizations=list(raw["medical_organizations"]),
    )
    problems = _index(data)
    if problems:
        raise DatasetError(source, problems)
    return data


def _with_digits(record: dict, *keys: str) -> dict:
    return {**record, **{k: digits(record[k]) for k in keys if record.get(k)}}


def _index(data: Dataset) -> list[str]:
    """Fill the indices; a key that two records share is a problem (a lookup must have one answer)."""
    problems: list[str] = []
    for i, person in enumerate(data.persons):
        _unique(data.persons_by_snils, person["snils"], person, f"persons[{i}].snils", problems)
        for j, passport in enumerate([person["passport"], *person.get("other_passports", [])]):
            where = f"persons[{i}].passport" if j == 0 else f"persons[{i}].other_passports[{j - 1}]"
            _unique(data.passports, (passport["series"], passport["number"]), (passport, person), where, problems)
    for i, policy in enumerate(data.policies):
        _unique(data.policies_by_enp, policy["enp"], policy, f"policies[{i}].enp", problems)
        if policy.get("snils"):
            data.policies_by_snils.setdefault(policy["snils"], []).append(policy)
        if policy["valid_to"] and policy["valid_to"] < policy["valid_from"]:
            problems.append(f"policies[{i}]: valid_to is before valid_from")
    for i, org in enumerate(data.organizations):
        _unique(data.organizations_by_inn, org["inn"], org, f"organizations[{i}].inn", problems)
        _unique(data.organizations_by_ogrn, org["ogrn"], org, f"organizations[{i}].ogrn", problems)
    for i, mo in enumerate(data.medical_organizations):
        _unique(data.medical_by_ogrn, mo["ogrn"], mo, f"medical_organizations[{i}].ogrn", problems)
    return problems


def _unique(index: dict, key: Any, value: Any, where: str, problems: list[str]) -> None:
    if key in index:
        problems.append(f"{where}: duplicate {'/'.join(key) if isinstance(key, tuple) else key}")
    else:
        index[key] = value


def _json_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out




PERSONAL_FIELDS = ("last_name", "first_name", "middle_name")
PASSPORT_FIELDS = ("series", "number", "issued_on", "issued_by", "division_code")


def update_personal_data(data: Dataset, person: dict, change: dict) -> bool:
    """Write a change of ФИО and passport into the person's record, as ЕРЗЛ does on a citizen's request.

    The new passport becomes the record's own (status valid) and the one it replaces is kept among
    `other_passports` as replaced, so that МВД lookups of either still find the person. Applying the
    same change twice changes nothing (the caller's retries are safe); answers whether anything changed.
    Callers hold the dataset's lock: the service answers requests on several threads.
    """
    new_passport = {k: change["passport"].get(k) for k in PASSPORT_FIELDS}
    names = {k: change.get(k) or None for k in PERSONAL_FIELDS}
    current = person["passport"]
    same_passport = (current["series"], current["number"]) == (new_passport["series"], new_passport["number"])
    if same_passport and all(person.get(k) == v for k, v in names.items()) and current.get("status") == "valid":
        return False
    issued_to = {k: person.get(k) for k in PERSONAL_FIELDS}
    person.update(names)
    others = [p for p in person.get("other_passports", [])
              if (p["series"], p["number"]) != (new_passport["series"], new_passport["number"])]
    if not same_passport:  # the old passport keeps the name it was issued to
        others.append({**current, "status": "replaced", "holder": {**issued_to, **current.get("holder", {})}})
    passport = {**current, **new_passport, "status": "valid"} if same_passport else {**new_passport, "status": "valid"}
    passport.pop("holder", None)  # the record's own name is the new passport's holder
    person["passport"] = passport
    person["other_passports"] = others
    for doc in [passport, *others]:
        data.passports[(doc["series"], doc["number"])] = (doc, person)
    return True
