"""Form schemas and their validation: exact field paths, codes and Russian messages."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.errors import DataValidationError, FieldError
from engine.task_forms import validate_task_data
from forms import identifiers as ids
from forms.schema_walk import field_schema, iter_leaves, resolve
from forms.validation import (
    SCHEMAS_DIR,
    clean,
    format_checker,
    load_schema,
    normalize,
    validate,
    validate_bank_details,
)
from tasks.config import engine_settings

TODAY = date(2025, 6, 15)
SCHEMA_NAMES = ["registration", "individual_application", "operator_review", "supervisor_review"]
REASON_CODES = {"personal_data_mismatch", "no_insurance_record", "contributions_unpaid", "policy_expired",
                "policy_not_found", "documents_missing"}


def application(**changes: Any) -> dict[str, Any]:
    """A valid API body for an individual, as the API documents it, with dotted-path changes applied."""
    body: dict[str, Any] = {
        "applicant": "individual",
        "person": {
            "last_name": "Иванова", "first_name": "Анна-Мария", "middle_name": "Сергеевна",
            "birth_date": "1985-03-05",
            "passport": {"series": "4506", "number": "123456", "issued_on": "2005-04-01",
                         "issued_by": "ОВД района Хамовники г. Москвы", "division_code": "772-001"},
            "snils": "112-233-445 95", "inn": "500100732259",
            "citizenship": "Российская Федерация", "address": "119021, г. Москва, ул. Льва Толстого, д. 16, кв. 1",
        },
        "policy_number": "7750110894000052",
        "period": {"from": "2025-01-01", "to": "2025-05-31"},
        "comment": "Справка нужна для работодателя",
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return body


def errors_of(schema: str, data: Any, surface: str = "api") -> list[tuple[str, str, str]]:
    return [(e.field, e.code, e.message) for e in validate(schema, data, today=TODAY, surface=surface)]


# ------------------------------------------------------------------ the schemas themselves
@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_and_complete(name: str) -> None:
    """Valid 2020-12; every field labelled in Russian; every string bounded; no unknown properties."""
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    for leaf in iter_leaves(schema):
        node = leaf.schema
        if node.get("x-widget") != "hidden":
            assert any("а" <= ch.lower() <= "я" for ch in node.get("title", "")), leaf.path
        if node.get("type") == "string" and "enum" not in node:
            assert node.get("maxLength") or node.get("format") in ("date", "month"), leaf.path
    stack = [resolve(schema, schema)]
    while stack:
        node = stack.pop()
        if "properties" in node:
            assert node.get("additionalProperties") is False
            stack.extend(resolve(child, schema) for child in node["properties"].values())


def test_schemas_live_where_the_engine_reads_task_forms() -> None:
    assert SCHEMAS_DIR in engine_settings({}).forms_dirs
    files = {p.name for p in SCHEMAS_DIR.glob("*.schema.json")}
    assert {f"{n}.schema.json" for n in SCHEMA_NAMES} <= files
    for name in files:                  # task forms added by the workflows must load too
        assert load_schema(name)["title"]


def test_load_schema_accepts_both_names_and_caches() -> None:
    assert load_schema("registration") is load_schema("registration")
    assert load_schema("registration.schema.json")["title"] == "Регистрация"
    with pytest.raises(ValueError, match="not a form schema"):
        load_schema("../templates/forms/macros")


def test_review_forms_offer_exactly_the_contract_reason_codes() -> None:
    for name in ("operator_review", "supervisor_review"):
        reasons = load_schema(name)["properties"]["reasons"]
        assert set(reasons["items"]["enum"]) == REASON_CODES
        assert set(reasons["x-enum-labels"]) == REASON_CODES
        assert load_schema(name)["properties"]["decision"]["enum"] == ["approve", "reject", "request_info"]


# ------------------------------------------------------------------ individual application
def test_contract_body_is_accepted_by_the_api() -> None:
    assert errors_of("individual_application", application()) == []


def test_minimal_contract_body_is_accepted() -> None:
    body = {"applicant": "individual",
            "person": {"last_name": "Ким", "first_name": "Ли", "birth_date": "2000-01-31", "snils": "11223344595",
                       "passport": {"series": "4500", "number": "000001", "issued_on": "2014-02-01",
                                    "issued_by": "УФМС", "division_code": "770-001"}},
            "period": {"from": "2025-06-01", "to": "2025-06-30"}}
    assert errors_of("individual_application", body) == []


def test_page_also_requires_consent() -> None:
    assert errors_of("individual_application", application(), "page") == [
        ("consent", "required", "Чтобы подать заявление, дайте согласие на обработку персональных данных")]
    assert errors_of("individual_application", application(consent=False), "page") == [
        ("consent", "invalid", "Чтобы подать заявление, дайте согласие на обработку персональных данных")]
    assert errors_of("individual_application", application(consent=True), "page") == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"person__snils": "112-233-445 96"},
     ("person.snils", "checksum", ids.SNILS_TYPO)),
    ({"person__snils": "1122334459"},
     ("person.snils", "format", "СНИЛС должен содержать 11 цифр")),
    ({"person__snils": None},
     ("person.snils", "required", "Заполните поле")),
    ({"person__last_name": ""},
     ("person.last_name", "required", "Заполните поле")),
    ({"person__last_name": "Ivanova"},
     ("person.last_name", "format", "Используйте русские буквы; внутри допускаются дефис, пробел и апостроф")),
    ({"person__last_name": "Иванова-"},
     ("person.last_name", "format", "Используйте русские буквы; внутри допускаются дефис, пробел и апостроф")),
    ({"person__first_name": "Я" * 61},
     ("person.first_name", "too_long", "Введите не более 60 символов")),
    ({"person__address": "Москва"},
     ("person.address", "too_short", "Введите не менее 10 символов")),
    ({"person__inn": "7707083893"},
     ("person.inn", "format", "ИНН физического лица должен содержать 12 цифр")),
    ({"person__inn": "500100732258"},
     ("person.inn", "checksum", ids.INN_TYPO)),
    ({"policy_number": "7750110894000053"},
     ("policy_number", "checksum", ids.ENP_TYPO)),
    ({"person__passport__series": "450"},
     ("person.passport.series", "format", "Серия паспорта должна содержать 4 цифры")),
    ({"person__passport__number": "12345X"},
     ("person.passport.number", "format", "Номер паспорта может содержать только цифры")),
    ({"person__passport__division_code": "77-2001"},
     ("person.passport.division_code", "format", "Введите код подразделения в формате 000-000")),
    ({"person__passport__issued_by": None},
     ("person.passport.issued_by", "required", "Заполните поле")),
    ({"person__birth_date": "05.03.1985"},
     ("person.birth_date", "format", "Введите дату в формате ГГГГ-ММ-ДД")),
    ({"person__birth_date": "1985-02-30"},
     ("person.birth_date", "format", "Такой даты нет в календаре: проверьте день и месяц")),
    ({"person__birth_date": 19850305},
     ("person.birth_date", "type", "Неверный тип значения: ожидается строка")),
    ({"person__passport": "4506 123456"},
     ("person.passport", "type", "Неверный тип значения: ожидается объект")),
    ({"person__nickname": "Аня"},
     ("person.nickname", "unknown_field", "Неизвестное поле «nickname»")),
    ({"applicant": "organization"},
     ("applicant", "invalid", "Недопустимое значение")),
    ({"period__kind": "week"},
     ("period.kind", "enum", "Выберите значение из списка")),
    ({"period__to": None},
     ("period.to", "required", "Заполните поле")),
])
def test_field_errors_are_specific(change: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert errors_of("individual_application", application(**change)) == [expected]


@pytest.mark.parametrize(("change", "expected"), [
    ({"person__birth_date": "2025-06-16"},
     ("person.birth_date", "future_date", "Дата рождения не может быть позже сегодняшнего дня")),
    ({"person__birth_date": "1899-12-31"},
     ("person.birth_date", "too_early", "Дата рождения не может быть раньше 01.01.1900")),
    ({"person__passport__issued_on": "2025-06-16"},
     ("person.passport.issued_on", "future_date", "Дата выдачи не может быть позже сегодняшнего дня")),
    ({"person__passport__issued_on": "1999-03-04"},
     ("person.passport.issued_on", "before_14",
      "Паспорт выдают с 14 лет: дата выдачи не может быть раньше 05.03.1999")),
    ({"period__from": "2025-05-01", "period__to": "2025-04-30"},
     ("period.to", "period_order", "Конец периода не может быть раньше его начала")),
    ({"period__from": "2024-06-01", "period__to": "2025-06-01"},
     ("period.to", "period_too_long",
      "Период не может быть длиннее одного года: последний возможный день — 31.05.2025")),
    ({"period__from": "2021-12-31", "period__to": "2022-06-30"},
     ("period.from", "period_too_old", "Справку можно получить за период не раньше 01.01.2022")),
    ({"period__from": "2025-06-16", "period__to": "2025-06-30"},
     ("period.from", "period_future", "Начало периода не может быть позже сегодняшнего дня")),
    ({"period__from": "2025-06-01", "period__to": "2026-01-01"},
     ("period.to", "period_too_late", "Конец периода не может быть позже 31.12.2025")),
])
def test_cross_field_rules(change: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert errors_of("individual_application", application(**change)) == [expected]


@pytest.mark.parametrize("change", [
    {"person__birth_date": "1900-01-01", "person__passport__issued_on": "1914-01-01"},
    {"person__birth_date": "2011-06-15", "person__passport__issued_on": "2025-06-15"},  # 14 today, issued today
    {"person__passport__issued_on": "1999-03-05"},                          # on the 14th birthday
    {"period__from": "2024-06-01", "period__to": "2025-05-31"},             # exactly one year
    {"period__from": "2022-01-01", "period__to": "2022-12-31"},             # the oldest year allowed
    {"period__from": "2025-06-15", "period__to": "2025-12-31"},             # from today to the year's end
])
def test_boundaries_are_accepted(change: dict[str, Any]) -> None:
    assert errors_of("individual_application", application(**change)) == []


def test_birth_date_today_is_not_in_the_future() -> None:
    body = application(person__birth_date="2025-06-15")
    assert [e[:2] for e in errors_of("individual_application", body)] == [("person.passport.issued_on", "before_14")]


def test_a_bad_date_is_not_also_compared() -> None:
    """One message per field: a date that is not a date gets no period-order complaint on top."""
    body = application(period__from="2025-13-01", period__to="2025-01-01")
    assert errors_of("individual_application", body) == [
        ("period.from", "format", "Такой даты нет в календаре: проверьте день и месяц")]


def test_page_words_date_formats_as_the_page_shows_them() -> None:
    body = application(person__birth_date="пятое марта", consent=True)
    assert errors_of("individual_application", body, "page") == [
        ("person.birth_date", "format", "Введите дату в формате ДД.ММ.ГГГГ")]
    body = application(period__kind="month", period__month="март", consent=True)
    assert errors_of("individual_application", body, "page") == [
        ("period.month", "format", "Введите месяц в формате ММ.ГГГГ")]


def test_errors_come_in_page_order() -> None:
    body = application(person__snils="1", person__last_name="", period__to="2024-01-01",
                       person__passport__series="1", comment="x" * 1001)
    assert [e[0] for e in errors_of("individual_application", body)] == [
        "person.last_name", "person.passport.series", "person.snils", "period.to", "comment"]


def test_not_an_object() -> None:
    assert errors_of("individual_application", ["a"]) == [("$", "type", "Ожидается объект JSON")]


# ------------------------------------------------------------------ normalise + period kinds
def test_clean_normalises_identifiers_and_fills_defaults() -> None:
    body = application(person__passport__division_code="772001")
    del body["person"]["citizenship"]
    body["person"]["last_name"] = "  Иванова "
    data, errors = clean("individual_application", body, today=TODAY, surface="api")
    assert errors == []
    assert data["person"]["snils"] == "11223344595"
    assert data["person"]["passport"]["division_code"] == "772-001"
    assert data["person"]["citizenship"] == "Российская Федерация"
    assert data["person"]["last_name"] == "Иванова"
    assert body["person"]["snils"] == "112-233-445 95"      # the input is not modified


@pytest.mark.parametrize(("period", "expected"), [
    ({"kind": "current_year"}, ("2025-01-01", "2025-12-31")),
    ({"kind": "month", "month": "2024-02"}, ("2024-02-01", "2024-02-29")),
    ({"kind": "month", "month": "2025-06"}, ("2025-06-01", "2025-06-30")),
    ({"kind": "custom", "from": "2025-03-01", "to": "2025-03-10"}, ("2025-03-01", "2025-03-10")),
])
def test_period_kinds_become_dates(period: dict[str, str], expected: tuple[str, str]) -> None:
    data, errors = clean("individual_application", application(period=period), today=TODAY, surface="api")
    assert errors == []
    assert (data["period"]["from"], data["period"]["to"]) == expected


def test_period_kind_month_needs_a_month() -> None:
    _, errors = clean("individual_application", application(period={"kind": "month"}), today=TODAY, surface="api")
    assert [(e.field, e.code) for e in errors] == [("period.month", "required")]
    _, errors = clean("individual_application", application(period={"kind": "custom", "from": "2025-01-01"}),
                      today=TODAY, surface="api")
    assert [(e.field, e.code) for e in errors] == [("period.to", "required")]


def test_future_month_is_refused() -> None:
    body = application(period={"kind": "month", "month": "2025-07"})
    _, errors = clean("individual_application", body, today=TODAY, surface="api")
    assert [(e.field, e.code) for e in errors] == [("period.from", "period_future")]


def test_normalize_leaves_wrong_types_alone() -> None:
    body = {"person": "не объект", "period": {"from": 5}}
    assert normalize("individual_application", body, today=TODAY) == {**body, "applicant": "individual"}


# ------------------------------------------------------------------ registration
def registration(**changes: Any) -> dict[str, Any]:
    body = {"email": "anna@example.ru", "password": "correct horse", "phone": "+79991234567",
            "last_name": "Иванова", "first_name": "Анна", "birth_date": "1985-03-05", "enp": "7700000000000016",
            "terms_version": "1", "consent_version": "1", "terms": True, "consent": True}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("change", "expected"), [
    ({}, None),
    ({"middle_name": "Д'Арк"}, None),
    ({"password": "123456789"}, ("password", "too_short", "Введите не менее 10 символов")),
    ({"password": "x" * 129}, ("password", "too_long", "Введите не более 128 символов")),
    ({"phone": "8999123456"}, ("phone", "format", "Введите номер телефона в формате +7XXXXXXXXXX")),
    ({"email": "anna@"}, ("email", "format", "Введите адрес электронной почты, например name@example.ru")),
    ({"birth_date": "2012-01-01"}, ("birth_date", "too_young", "Зарегистрироваться можно с 14 лет")),
    ({"birth_date": "2030-01-01"}, ("birth_date", "future_date", "Дата рождения не может быть позже сегодняшнего дня")),
    ({"consent": None}, ("consent", "required",
                         "Чтобы зарегистрироваться, дайте согласие на обработку персональных данных")),
    ({"terms": None}, ("terms", "required", "Чтобы зарегистрироваться, примите пользовательское соглашение")),
    ({"enp": "7700 0000 0000 0017"}, ("enp", "checksum", ids.ENP_TYPO)),
    ({"enp": None}, None),  # optional: the profile fills it later
    ({"inn": "500100732258"}, ("inn", "checksum", ids.INN_TYPO)),
    ({"inn": "500100732259"}, None),
])
def test_registration(change: dict[str, Any], expected: tuple[str, str, str] | None) -> None:
    assert errors_of("registration", registration(**change), "page") == ([expected] if expected else [])


def test_registration_api_follows_the_contract_without_consent() -> None:
    """The API's registration body: no boxes to tick, no ЕНП, no versions (the client presents the documents)."""
    body = registration(consent=None, terms=None, enp=None, terms_version=None, consent_version=None)
    assert errors_of("registration", body, "api") == []


def test_clean_normalises_the_phone() -> None:
    data, errors = clean("registration", registration(phone="8 (999) 123-45-67"), today=TODAY)
    assert errors == [] and data["phone"] == "+79991234567"


# ------------------------------------------------------------------ review forms
@pytest.mark.parametrize("name", ["operator_review", "supervisor_review"])
@pytest.mark.parametrize(("data", "expected"), [
    ({"decision": "approve"}, []),
    ({"decision": "approve", "internal_comment": "Проверено вручную"}, []),
    ({"decision": "reject", "reasons": ["policy_expired"], "explanation": "Полис аннулирован 01.02.2025"}, []),
    ({"decision": "request_info", "explanation": "Приложите копию паспорта"}, []),
    ({}, [("decision", "required", "Выберите решение")]),
    ({"decision": "postpone"}, [("decision", "enum", "Выберите значение из списка")]),
    ({"decision": "reject"}, [("reasons", "required", "Выберите хотя бы одну причину отказа"),
                              ("explanation", "required", "Напишите заявителю, что не так и что нужно сделать")]),
    ({"decision": "reject", "reasons": [], "explanation": ""},
     [("reasons", "too_few", "Выберите хотя бы одну причину отказа"),
      ("explanation", "required", "Напишите заявителю, что не так и что нужно сделать")]),
    ({"decision": "reject", "reasons": ["policy_expired", "no_money"], "explanation": "Нет"},
     [("reasons.1", "enum", "Выберите значение из списка")]),
    ({"decision": "reject", "reasons": ["policy_expired", "policy_expired"], "explanation": "Нет"},
     [("reasons", "duplicate", "Значения в списке не должны повторяться")]),
    ({"decision": "request_info"}, [("explanation", "required", "Напишите заявителю, что не так и что нужно сделать")]),
    ({"decision": "approve", "explanation": "я" * 2001},
     [("explanation", "too_long", "Введите не более 2000 символов")]),
])
def test_review_forms(name: str, data: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert errors_of(name, data) == expected


def test_engine_validates_task_forms_with_our_format_checker() -> None:
    """The engine validates user-task data with the stored schema and forms' FormatChecker."""
    review = copy.deepcopy(load_schema("operator_review"))
    validate_task_data(review, {"decision": "approve"}, format_checker())
    with pytest.raises(DataValidationError) as caught:
        validate_task_data(review, {"decision": "reject"}, format_checker())
    assert {f.field for f in caught.value.fields} == {"reasons", "explanation"}
    person = load_schema("individual_application")
    with pytest.raises(DataValidationError) as caught:
        validate_task_data(person, application(person__snils="112-233-445 96"), format_checker())
    assert [f.field for f in caught.value.fields] == ["person.snils"]


# ------------------------------------------------------------------ bank details and ad-hoc schemas
@pytest.mark.parametrize(("details", "expected"), [
    (("044525225", "40702810438000060473", "30101810400000000225"), []),
    (("004525988", "03100643000000017300", "40102810545370000003"), []),
    (("044525225", "40702810538000060473", "30101810400000000225"),
     [("organization.bank.account", "checksum",
       ids.ACCOUNT_MISMATCH)]),
    (("044525225", "40702810438000060473", "30101810400000000226"),
     [("organization.bank.corr_account", "checksum",
       ids.CORR_ACCOUNT_MISMATCH)]),
    (("04452522", "40702810538000060473", "30101810400000000226"),
     [("organization.bank.bik", "format", "БИК должен содержать 9 цифр")]),
    (("044525225", "4070281043800006047", None),
     [("organization.bank.account", "format", "Расчётный счёт должен содержать 20 цифр")]),
])
def test_validate_bank_details(details: tuple[str, str, str | None], expected: list[tuple[str, str, str]]) -> None:
    assert [(e.field, e.code, e.message) for e in validate_bank_details(*details)] == expected


def test_bank_account_rule_in_a_schema() -> None:
    schema = {
        "type": "object", "additionalProperties": False,
        "x-rules": [{"rule": "bank_account", "bik": "bank.bik", "account": "bank.account",
                     "corr_account": "bank.corr_account"}],
        "properties": {"bank": {"type": "object", "additionalProperties": False, "properties": {
            "bik": {"type": "string", "format": "bik", "title": "БИК"},
            "account": {"type": "string", "format": "account", "title": "Расчётный счёт"},
            "corr_account": {"type": "string", "format": "corr-account", "title": "Корреспондентский счёт"}}}},
    }
    good = {"bank": {"bik": "044525225", "account": "40702810438000060473", "corr_account": "30101810400000000225"}}
    assert validate(schema, good, today=TODAY) == []
    bad = copy.deepcopy(good)
    bad["bank"]["account"] = "40702810538000060473"
    assert validate(schema, bad, today=TODAY) == [FieldError(
        "bank.account", "checksum", ids.ACCOUNT_MISMATCH)]


def test_schema_dict_messages_and_plural_forms() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "minLength": 21, "x-messages": {"minLength": "Слишком коротко"}},
        "b": {"type": "string", "maxLength": 1},
        "c": {"type": "string", "maxLength": 22},
        "n": {"type": "integer", "minimum": 1, "maximum": 5}}}
    found = validate(schema, {"a": "x", "b": "xy", "c": "x" * 23, "n": 7}, today=TODAY)
    assert [(e.field, e.code, e.message) for e in found] == [
        ("a", "too_short", "Слишком коротко"),
        ("b", "too_long", "Введите не более 1 символа"),
        ("c", "too_long", "Введите не более 22 символов"),
        ("n", "too_large", "Введите число не больше 5"),
    ]


def test_field_schema_follows_refs_and_items() -> None:
    schema = load_schema("individual_application")
    assert field_schema(schema, "person.last_name")["maxLength"] == 60
    assert field_schema(schema, "person.passport.issued_on")["format"] == "date"
    assert field_schema(load_schema("operator_review"), "reasons.0")["enum"][0] == "personal_data_mismatch"
    assert field_schema(schema, "person.nope") == {}


def test_a_dict_schema_s_validator_is_built_once_per_schema_object():
    """User-task forms come as dicts (one per deployed version): validated many times, compiled once."""
    from forms.validation import _dict_validator

    schema = {"type": "object", "properties": {"reason": {"type": "string", "minLength": 3}}, "required": ["reason"]}
    same_content = copy.deepcopy(schema)
    assert _dict_validator(schema, "api") is _dict_validator(schema, "api")
    assert _dict_validator(same_content, "api") is not _dict_validator(schema, "api")
    assert _dict_validator(schema, "page") is not _dict_validator(schema, "api")
    for _ in range(2):  # the cached validator still finds every problem
        assert [e.field for e in validate(schema, {"reason": "x"}, surface="api")] == ["reason"]
        assert validate(schema, {"reason": "long enough"}, surface="api") == []
