"""The registries' lookup endpoints: one blueprint per registry, named as in fault specs.

A lookup by key answers 200 with the record or 404 `not_found`; a search answers 200 with a list
(empty when nothing matches); a malformed key is 400 `bad_request`. Lookups of people are POSTs
with the identifiers in the JSON body: passport numbers and СНИЛС never appear in a URL, so no
access log or proxy on the way records personal data (152-FZ). Organisations are public, so GET.
Records of people are rendered field by field so that the demo dataset's test-only fields never
leave the service.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from typing import Any

from flask import Blueprint, current_app, request

from .clinics import clinic
from .dataset import PASSPORT_FIELDS, Dataset, digits, update_personal_data
from .responses import error

mvd = Blueprint("mvd", __name__, url_prefix="/mvd")
sfr = Blueprint("sfr", __name__, url_prefix="/sfr")
erzl = Blueprint("erzl", __name__, url_prefix="/erzl")
egrul = Blueprint("egrul", __name__, url_prefix="/egrul")
mo = Blueprint("mo", __name__, url_prefix="/mo")
BLUEPRINTS = (mvd, sfr, erzl, egrul, mo, clinic)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _data() -> Dataset:
    return current_app.extensions["registry_dataset"]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def _holder(person: dict, overrides: dict | None = None) -> dict:
    merged = {**person, **(overrides or {})}
    return {k: merged.get(k) for k in ("last_name", "first_name", "middle_name", "birth_date")}


@mvd.post("/passport")
def passport():
    """МВД: a passport by {series, number}, with its status and holder."""
    body = _body()
    series, number = _text(body, "series"), _text(body, "number")
    if not (re.fullmatch(r"\d{4}", series) and re.fullmatch(r"\d{6}", number)):
        return error(400, "bad_request", "Серия паспорта - 4 цифры, номер - 6 цифр.")
    found = _data().passports.get((series, number))
    if found is None:
        return error(404, "not_found", f"Паспорт {series} {number} не найден.")
    doc, person = found
    fields = ("series", "number", "issued_on", "issued_by", "division_code", "status")
    # A passport issued under another name (before a marriage, say) carries that name as its `holder`.
    return {**{k: doc.get(k) for k in fields}, "holder": _holder(person, doc.get("holder"))}


@sfr.post("/person")
def insured_person():
    """СФР: the holder of {snils} (as СФР has it recorded, which may differ from МВД)."""
    snils = digits(_text(_body(), "snils"))
    if len(snils) != 11:
        return error(400, "bad_request", "СНИЛС состоит из 11 цифр.")
    person = _data().persons_by_snils.get(snils)
    if person is None:
        return error(404, "not_found", "СНИЛС не найден.")
    return {"snils": snils, "holder": _holder(person, person.get("sfr_record"))}


def _policy(policy: dict) -> dict:
    person = _data().persons_by_snils.get(policy.get("snils") or "")
    fields = ("enp", "snils", "birth_date", "insurer", "region", "valid_from", "valid_to", "status")
    return {**{k: policy.get(k) for k in fields}, "reason": policy.get("reason") or _default_reason(policy),
            "holder": _holder(person) if person else None}


def _default_reason(policy: dict) -> str | None:
    if policy["status"] == "annulled":
        return "Полис аннулирован."
    if policy["status"] == "expired":
        if policy.get("valid_to"):
            return f"Срок действия полиса истёк {date.fromisoformat(policy['valid_to']):%d.%m.%Y}."
        return "Срок действия полиса истёк."
    return None


@erzl.post("/policy")
def policy_by_enp():
    """ФОМС ЕРЗЛ: a policy by {enp}."""
    enp = _text(_body(), "enp")
    if not re.fullmatch(r"\d{16}", enp):
        return error(400, "bad_request", "ЕНП состоит из 16 цифр.")
    policy = _data().policies_by_enp.get(enp)
    if policy is None:
        return error(404, "not_found", f"Полис с ЕНП {enp} не найден.")
    return _policy(policy)


@erzl.post("/policies")
def policies_by_person():
    """ФОМС ЕРЗЛ: every policy (current and past) of the person with {snils, birth_date}."""
    body = _body()
    snils, birth_date = digits(_text(body, "snils")), _text(body, "birth_date")
    if len(snils) != 11 or not _DATE_RE.match(birth_date):
        return error(400, "bad_request", "Нужны поля snils (11 цифр) и birth_date (ГГГГ-ММ-ДД).")
    policies = [p for p in _data().policies_by_snils.get(snils, []) if p["birth_date"] == birth_date]
    return {"policies": [_policy(p) for p in policies]}


_update_lock = threading.Lock()  # the service answers on several threads; changes go one at a time
_NAME_RE = re.compile(r"^[А-ЯЁа-яё]+(?:[ '’-][А-ЯЁа-яё]+)*$")
_PASSPORT_RES = {"series": re.compile(r"^\d{4}$"), "number": re.compile(r"^\d{6}$"),
                 "issued_on": _DATE_RE, "division_code": re.compile(r"^\d{3}-\d{3}$")}


@erzl.post("/personal-data")
def change_personal_data():
    """ФОМС ЕРЗЛ: change the ФИО and passport of the insured person with {enp, birth_date}.

    Body: {enp, birth_date, last_name, first_name, middle_name?, passport: {series, number, issued_on,
    issued_by, division_code}}. Answers 200 {enp, changed, holder, passport} (`changed` false when the
    record already reads so: a repeated request is harmless), 404 `not_found` for an unknown policy or
    a birth date that does not match it, 400 `bad_request` naming the malformed field.
    """
    body = _body()
    enp, birth_date = _text(body, "enp"), _text(body, "birth_date")
    if not re.fullmatch(r"\d{16}", enp) or not _DATE_RE.match(birth_date):
        return error(400, "bad_request", "Нужны поля enp (16 цифр) и birth_date (ГГГГ-ММ-ДД).")
    change = {k: _text(body, k) for k in ("last_name", "first_name", "middle_name")}
    for key in ("last_name", "first_name"):
        if not _NAME_RE.match(change[key]):
            return error(400, "bad_request", f"Поле {key}: нужны русские буквы.")
    if change["middle_name"] and not _NAME_RE.match(change["middle_name"]):
        return error(400, "bad_request", "Поле middle_name: нужны русские буквы.")
    raw_passport = body.get("passport") if isinstance(body.get("passport"), dict) else {}
    passport = {k: _text(raw_passport, k) for k in PASSPORT_FIELDS}
    for key, pattern in _PASSPORT_RES.items():
        if not pattern.match(passport[key]):
            return error(400, "bad_request", f"Поле passport.{key} заполнено неверно.")
    if not passport["issued_by"]:
        return error(400, "bad_request", "Поле passport.issued_by не заполнено.")
    data = _data()
    policy = data.policies_by_enp.get(enp)
    person = data.persons_by_snils.get((policy or {}).get("snils") or "")
    if policy is None or policy["birth_date"] != birth_date or person is None:
        return error(404, "not_found", f"Застрахованное лицо с ЕНП {enp} не найдено.")
    with _update_lock:
        changed = update_personal_data(data, person, {**change, "passport": passport})
        fields = ("series", "number", "issued_on", "issued_by", "division_code", "status")
        return {"enp": enp, "changed": changed, "holder": _holder(person),
                "passport": {k: person["passport"].get(k) for k in fields}}


BATCH_LIMIT = 1000  # lookups per batch request: an employer's list of 10,000 is ten round trips


@erzl.post("/policies/batch")
def policies_batch():
    """ФОМС ЕРЗЛ: up to 1,000 lookups {"items": [{enp, birth_date}]} in one request.

    Answers {"results": [{enp, found, policy}]} in the order of the items; `policy` as /erzl/policy
    gives it, null when not found. A birth date that does not match the policy's answers exactly like
    an unknown number, as the public policy check does. One malformed item refuses the whole request
    (400 naming the item), so a caller never mistakes a typo for "not insured".
    """
    items = _body().get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= BATCH_LIMIT:
        return error(400, "bad_request", f"Нужен список items из 1–{BATCH_LIMIT} запросов {{enp, birth_date}}.")
    keys = []
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        enp, birth_date = _text(item, "enp"), _text(item, "birth_date")
        if not re.fullmatch(r"\d{16}", enp) or not _DATE_RE.match(birth_date):
            return error(400, "bad_request", f"items[{index}]: нужны enp (16 цифр) и birth_date (ГГГГ-ММ-ДД).")
        keys.append((enp, birth_date))
    by_enp = _data().policies_by_enp
    results = []
    for enp, birth_date in keys:
        policy = by_enp.get(enp)
        found = policy is not None and policy["birth_date"] == birth_date
        results.append({"enp": enp, "found": found, "policy": _policy(policy) if found else None})
    return {"results": results}


@egrul.get("/organizations/<key>")
def organization(key: str):
    """ФНС ЕГРЮЛ: an organisation by ИНН (10 digits) or ОГРН (13 digits)."""
    data = _data()
    if re.fullmatch(r"\d{10}", key):
        org = data.organizations_by_inn.get(key)
    elif re.fullmatch(r"\d{13}", key):
        org = data.organizations_by_ogrn.get(key)
    else:
        return error(400, "bad_request", "Укажите ИНН (10 цифр) или ОГРН (13 цифр) организации.")
    if org is None:
        return error(404, "not_found", f"Организация {key} не найдена в ЕГРЮЛ.")
    return org


@mo.get("/organizations")
def medical_organizations():
    """Register of medical organisations; `?program=` keeps those working under that programme."""
    program = (request.args.get("program") or "").strip().casefold()
    orgs = _data().medical_organizations
    if program:
        orgs = [o for o in orgs if program in (p.casefold() for p in o["programs"])]
    return {"organizations": orgs}


@mo.get("/organizations/<ogrn>")
def medical_organization(ogrn: str):
    if not re.fullmatch(r"\d{13}", ogrn):
        return error(400, "bad_request", "ОГРН состоит из 13 цифр.")
    org = _data().medical_by_ogrn.get(ogrn)
    if org is None:
        return error(404, "not_found", f"Медицинская организация {ogrn} не найдена.")
    return org
