"""An organisation's application: requisites checked by their algorithms, the representative's authority,
the ЕГРЮЛ check against the real registry service, and the application page (both backends)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import JournalEntry
from engine.operators import OperatorError, get_operator
from forms import identifiers as ids
from forms.dates import today_moscow
from forms.validation import clean
from tasks.cases.models.cases import Application, Document
from tasks.cases.models.organizations import Organization, OrganizationRepresentative
from tasks.cases.submission import search_columns
from tasks.config import AppConfig
from tasks.process import install_config, installed_config
from tasks.registries.matching import compare_org_name, name_parts, normalize_org_name, organization_search_name
from tasks.registries.operators import reset_registry_client
from tests.support.accounts import bearer, csrf_token, login, unique_email
from tests.support.pdf import SCAN_PDF
from tests.support.product import Product, this_year_period
from tests.support.registry import RegistryService, demo_dataset
from web.extensions import db

PDF = SCAN_PDF
BIK = "044525225"
ACCOUNT = "40702810938000000001"  # keyed against BIK
CORR_ACCOUNT = "30101810400000000225"  # keyed against BIK
TODAY = today_moscow()  # the validators count in Moscow days (UTC is a day behind after 21:00)


def org_record(short_name: str) -> dict[str, Any]:
    return next(o for o in demo_dataset()["organizations"] if o["short_name"] == short_name)


def org_body(short_name: str = "ООО «Ромашка»", *, authority: str = "head", **organization: Any) -> dict[str, Any]:
    """A valid API body for an organisation of the demo ЕГРЮЛ (the documented API body + the representative)."""
    record = org_record(short_name)
    org = {"name": record["name"], "inn": record["inn"], "kpp": record["kpp"], "ogrn": record["ogrn"],
           "legal_address": record["legal_address"], "phone": "+74951234567", "email": "hr@example.ru",
           "bank": {"bik": BIK, "account": ACCOUNT, "corr_account": CORR_ACCOUNT}, **organization}
    representative: dict[str, Any] = {"position": "Генеральный директор", "authority": authority}
    if authority == "power_of_attorney":
        representative = {"position": "Специалист по кадрам", "authority": authority,
                          "power_of_attorney": {"number": "77 АБ 1234567",
                                                "issued_on": (TODAY - timedelta(days=30)).isoformat(),
                                                "valid_to": (TODAY + timedelta(days=300)).isoformat()}}
    return {"applicant": "organization", "organization": org, "representative": representative,
            "period": this_year_period()}


def field_errors(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    _, errors = clean("organization_application", body, surface="api")
    return {e.field: (e.code, e.message) for e in errors}


def with_change(path: str, value: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or org_body()
    node = body
    *parents, name = path.split(".")
    for part in parents:
        node = node[part]
    node[name] = value
    return body


# --- the schema: every identifier by its algorithm ------------------------------------------------

def test_a_valid_organisation_passes_and_is_normalised():
    body = org_body()
    body["organization"]["inn"] = " 7798 102 639 "
    body["organization"]["kpp"] = "7729 01 001"
    normalized, errors = clean("organization_application", body, surface="api")
    assert errors == []
    assert normalized["organization"]["inn"] == "7798102639" and normalized["organization"]["kpp"] == "772901001"
    assert normalized["period"] == this_year_period()
    poa = org_body(authority="power_of_attorney")
    assert field_errors(poa) == {}


BROKEN = [
    ("organization.inn", "7798102638", "checksum", ids.INN_TYPO),
    ("organization.inn", "779810263912", "format", "ИНН организации должен содержать 10 цифр"),
    ("organization.inn", "77981O2639", "format", "ИНН организации может содержать только цифры"),
    ("organization.kpp", "77290100", "format", "КПП должен содержать 9 символов"),
    ("organization.kpp", "7729010AB", "format", "КПП: 9 цифр, в 5-й и 6-й позициях допускаются латинские буквы"),
    ("organization.ogrn", "1127724126156", "checksum", ids.OGRN_TYPO),
    ("organization.ogrn", "112772412615", "format", "ОГРН должен содержать 13 цифр"),
    ("organization.bank.bik", "04452522", "format", "БИК должен содержать 9 цифр"),
    ("organization.bank.account", "40702810938000000002", "checksum",
     ids.ACCOUNT_MISMATCH),
    ("organization.bank.account", "4070281093800000000", "format", "Расчётный счёт должен содержать 20 цифр"),
    ("organization.bank.corr_account", "30101810400000000226", "checksum",
     ids.CORR_ACCOUNT_MISMATCH),
    ("organization.phone", "12345", "format", "Введите номер телефона в формате +7XXXXXXXXXX"),
    ("organization.email", "hr@", "format", "Введите адрес электронной почты, например name@example.ru"),
]


@pytest.mark.parametrize(("path", "value", "code", "message"), BROKEN, ids=[f"{b[0]}={b[1]}" for b in BROKEN])
def test_each_broken_identifier_is_reported_at_its_field(path, value, code, message):
    assert field_errors(with_change(path, value)) == {path: (code, message)}


def test_accounts_are_keyed_against_the_bik_they_are_given_with():
    """The same р/с and к/с are right for one bank and wrong for another: the key depends on the БИК."""
    other_bank = with_change("organization.bank.bik", "044030653")  # a bank in Saint Petersburg
    errors = field_errors(other_bank)
    assert set(errors) == {"organization.bank.account", "organization.bank.corr_account"}
    assert all(code == "checksum" for code, _ in errors.values())
    # A broken БИК is reported once, at the БИК: the accounts are not blamed for it.
    assert set(field_errors(with_change("organization.bank.bik", "0445252"))) == {"organization.bank.bik"}
    # Bank details are optional, but all three together.
    body = org_body()
    del body["organization"]["bank"]
    assert field_errors(body) == {}
    partial = with_change("organization.bank", {"bik": BIK})
    assert set(field_errors(partial)) == {"organization.bank.account", "organization.bank.corr_account"}


def test_required_requisites_and_representative():
    body = org_body()
    for name in ("inn", "kpp", "ogrn", "legal_address", "phone", "email", "name"):
        del body["organization"][name]
    del body["representative"]["position"]
    errors = field_errors(body)
    assert errors["organization.inn"] == ("required", "Укажите ИНН организации")
    assert {f"organization.{n}" for n in ("kpp", "ogrn", "legal_address", "phone", "email", "name")} <= set(errors)
    assert errors["representative.position"][0] == "required"
    assert set(field_errors({"applicant": "organization", "period": this_year_period()})) >= {
        "organization", "representative"}


def test_power_of_attorney_details_and_dates():
    poa = org_body(authority="power_of_attorney")
    del poa["representative"]["power_of_attorney"]
    assert field_errors(poa) == {"representative.power_of_attorney": (
        "required", "Укажите номер и дату выдачи доверенности")}
    assert field_errors(org_body()) == {}  # the head needs no power of attorney
    expired = org_body(authority="power_of_attorney")
    expired["representative"]["power_of_attorney"]["valid_to"] = (TODAY - timedelta(days=1)).isoformat()
    assert field_errors(expired) == {"representative.power_of_attorney.valid_to": (
        "expired", "Срок действия доверенности истёк: приложите действующую доверенность")}
    last_day = org_body(authority="power_of_attorney")
    last_day["representative"]["power_of_attorney"]["valid_to"] = TODAY.isoformat()
    assert field_errors(last_day) == {}  # valid through its last day
    future = org_body(authority="power_of_attorney")
    future["representative"]["power_of_attorney"]["issued_on"] = (TODAY + timedelta(days=1)).isoformat()
    assert field_errors(future) == {"representative.power_of_attorney.issued_on": (
        "future_date", "Дата выдачи доверенности не может быть позже сегодняшнего дня")}
    open_ended = org_body(authority="power_of_attorney")
    del open_ended["representative"]["power_of_attorney"]["valid_to"]
    assert field_errors(open_ended) == {}
    assert field_errors(with_change("representative.authority", "accountant"))["representative.authority"] == (
        "enum", "Выберите: руководитель организации или представитель по доверенности")


def test_a_power_of_attorney_without_a_term_lasts_a_year():
    """ГК РФ ст. 186: without «действует до» a power of attorney is valid one year from its date."""
    def issued(days_ago: int) -> dict[str, tuple[str, str]]:
        body = org_body(authority="power_of_attorney")
        poa = body["representative"]["power_of_attorney"]
        del poa["valid_to"]
        poa["issued_on"] = (TODAY - timedelta(days=days_ago)).isoformat()
        return field_errors(body)

    year_ago = TODAY.replace(year=TODAY.year - 1) if (TODAY.month, TODAY.day) != (2, 29) else TODAY - timedelta(366)
    assert issued((TODAY - year_ago).days) == {}  # its last day
    last_day = year_ago - timedelta(days=1)
    expected = ("expired", "Доверенность без указанного срока действует год со дня выдачи (ст. 186 ГК РФ), эта — по "
                f"{(TODAY - timedelta(days=1)).strftime('%d.%m.%Y')} включительно: приложите действующую доверенность "
                "или укажите срок, если он в ней есть")
    assert issued((TODAY - last_day).days) == {"representative.power_of_attorney.issued_on": expected}
    with_term = org_body(authority="power_of_attorney")  # its own term counts, however old the date
    with_term["representative"]["power_of_attorney"]["issued_on"] = (TODAY - timedelta(days=800)).isoformat()
    assert field_errors(with_term) == {}


# --- lenient name comparison ----------------------------------------------------------------------

ROMASHKA = ("Общество с ограниченной ответственностью «Ромашка»", "ООО «Ромашка»")
NAMES = [
    ("ООО «Ромашка»", ROMASHKA, "exact"),
    ("Общество с ограниченной ответственностью «Ромашка»", ROMASHKA, "exact"),
    ('ООО "Ромашка"', ROMASHKA, "exact"),
    ("ооо ромашка", ROMASHKA, "exact"),
    ("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ “РОМАШКА”", ROMASHKA, "exact"),
    ("общество  с ограниченной\tответственностью Ромашка", ROMASHKA, "exact"),
    ("Ромашка, ООО", ROMASHKA, "exact"),
    ("«Ромашка»", ROMASHKA, "fuzzy"),  # the legal form left out
    ("ООО «Северный трубный завод»", ("ООО «Трубный северный завод»",), "fuzzy"),  # other word order
    ("АО «Ромашка»", ROMASHKA, "mismatch"),  # another legal form is another organisation
    ("ООО «Ромашка-2»", ROMASHKA, "mismatch"),
    ("ООО «Лютик»", ROMASHKA, "mismatch"),
    ("ПАО «Волжская энергосбытовая компания»",
     ("Публичное акционерное общество «Волжская энергосбытовая компания»",), "exact"),
    ("ЗАО «Заря»", ("Закрытое акционерное общество «Заря»",), "exact"),
    ("АО «Северный трубный завод»", ("Акционерное общество «Северный трубный завод»",), "exact"),
    ("ИП Фёдоров", ("Индивидуальный предприниматель Федоров",), "fuzzy"),  # ё/е: an operator looks
    ("ИП Федоров", ("Индивидуальный предприниматель Федоров",), "exact"),
    ("ООО «Ёлка»", ("Общество с ограниченной ответственностью «Елка»",), "fuzzy"),
    ('АНО "Центр социальной помощи "Забота""',
     ("Автономная некоммерческая организация «Центр социальной помощи «Забота»»",), "exact"),
    ("ООО «Обществознание»", ("Общество с ограниченной ответственностью «Обществознание»",), "exact"),
    ("", ROMASHKA, "mismatch"),
]


@pytest.mark.parametrize(("typed", "registry", "expected"), NAMES, ids=[n[0] or "empty" for n in NAMES])
def test_organisation_names_are_compared_leniently(typed, registry, expected):
    assert compare_org_name(typed, registry) == expected


PERSON_NAMES = [
    ("Соколова Анна Игоревна", {"last_name": "Соколова", "first_name": "Анна", "middle_name": "Игоревна"}),
    ("  Орлов   Денис ", {"last_name": "Орлов", "first_name": "Денис", "middle_name": ""}),
    ("Алиев Рашид Мамед оглы", {"last_name": "Алиев", "first_name": "Рашид", "middle_name": "Мамед оглы"}),
    ("", {"last_name": "", "first_name": "", "middle_name": ""}),
]


@pytest.mark.parametrize(("full_name", "parts"), PERSON_NAMES, ids=[n[0] or "empty" for n in PERSON_NAMES])
def test_an_accounts_full_name_in_parts(full_name, parts):
    assert name_parts(full_name) == parts


def test_normalised_and_search_names():
    assert normalize_org_name("Общество с ограниченной ответственностью «Ромашка»") == "ооо ромашка"
    assert normalize_org_name("Ромашка, ООО") == "ооо ромашка"
    name = organization_search_name("Общество с ограниченной ответственностью «Ёлочка»", "7798102639")
    assert name.startswith("елочка 7798102639 ") and len(name) <= 400
    long_name = "Общество с ограниченной ответственностью «" + "Очень длинное название " * 30 + "»"
    assert len(organization_search_name(long_name, "7798102639")) == 400
    columns = search_columns(org_body())
    assert columns["snils"] is None and columns["search_name"].startswith("ромашка 7798102639")


# --- the ЕГРЮЛ check against the registry service ----------------------------------------------

@pytest.fixture
def egrul(registry_service: RegistryService) -> Iterator[Callable[..., dict]]:
    """Call `registries.check_organization` the way the worker does, against the real registry service."""
    before = installed_config()
    install_config(AppConfig.from_env({**os.environ, "REGISTRY_URL": registry_service.url,
                                       "SECRET_KEY": "organization-tests"}))

    def check(organization: dict[str, Any], **representative: Any) -> dict:
        params = {"organization": organization, **({"representative": representative} if representative else {})}
        return get_operator("registries.check_organization").func(**params)["organization_check"]

    yield check
    if before is not None:
        install_config(before)
    reset_registry_client()


def test_egrul_facts_for_an_active_paying_organisation(egrul):
    assert egrul(org_body()["organization"]) == {
        "found": True, "status": "active", "contributions_paid": True, "match": "exact", "mismatches": [],
        "registry_name": "Общество с ограниченной ответственностью «Ромашка»"}
    assert egrul(org_body(name="ООО «Ромашка»")["organization"])["match"] == "exact"  # the short name
    # Case, quotes and the legal form's spelling are how one name is written: it agrees with ЕГРЮЛ.
    same = egrul(org_body(name='общество с ограниченной ответственностью "РОМАШКА"')["organization"])
    assert (same["match"], same["mismatches"]) == ("exact", [])
    fuzzy = egrul(org_body(name="«Ромашка»")["organization"])  # the legal form left out: an operator looks
    assert (fuzzy["match"], fuzzy["mismatches"]) == ("fuzzy", [])


def test_egrul_facts_for_liquidated_unpaid_and_unknown(egrul):
    start = egrul(org_body("ООО «Старт»")["organization"])
    assert (start["found"], start["status"], start["contributions_paid"], start["match"]) == (
        True, "liquidated", False, "exact")
    vector = egrul(org_body("ООО «Вектор-Строй»")["organization"])
    assert (vector["status"], vector["contributions_paid"], vector["match"]) == ("active", False, "exact")
    unknown = egrul(org_body(inn="7707083893")["organization"])  # a valid ИНН the register does not have
    assert unknown == {"found": False, "status": None, "contributions_paid": None, "match": "mismatch",
                       "mismatches": ["inn"], "registry_name": None}


def test_egrul_mismatches_name_the_fields(egrul):
    lastochka = org_record("ООО «Ласточка»")
    old_kpp = lastochka["previous_kpp"][0]["kpp"]  # the КПП changed when the organisation moved
    moved = egrul(org_body("ООО «Ласточка»", kpp=old_kpp)["organization"])
    assert (moved["found"], moved["status"], moved["match"], moved["mismatches"]) == (
        True, "active", "mismatch", ["kpp"])
    assert egrul(org_body("ООО «Ласточка»")["organization"])["match"] == "exact"
    other = org_record("АО «Северный трубный завод»")
    wrong = egrul(org_body(ogrn=other["ogrn"], name="АО «Ромашка»")["organization"])
    assert (wrong["match"], wrong["mismatches"]) == ("mismatch", ["ogrn", "name"])


HEADS = [
    ("ООО «Ромашка»", "Соколова Анна Игоревна", "head", "head_confirmed"),
    ("ООО «Ромашка»", "СОКОЛОВА анна  игоревна", "head", "head_confirmed"),  # case and spacing aside
    ("АО «Северный трубный завод»", "Федоров Петр Алексеевич", "head", "head_confirmed"),  # ЕГРЮЛ: Фёдоров Пётр
    ("ПАО «Волжская ЭСК»", "Римская-Корсакова Елена Сергеевна", "head", "head_confirmed"),
    ("ООО «Ромашка»", "Соколова Анна", "head", "head_not_confirmed"),  # the patronymic missing: not the head
    ("ООО «Ромашка»", "Иванов Сергей", "head", "head_not_confirmed"),
    ("ООО «Ромашка»", "kto-to@example.ru", "head", "head_not_confirmed"),  # an account without a name
    ("ООО «Старт»", "Соколова Анна Игоревна", "head", "head_not_confirmed"),  # ЕГРЮЛ names no head
    ("ООО «Ромашка»", "Иванов Сергей", "power_of_attorney", "power_of_attorney"),
]


@pytest.mark.parametrize(("short_name", "full_name", "authority", "expected"), HEADS,
                         ids=[f"{h[0]}-{h[1]}-{h[2]}" for h in HEADS])
def test_egrul_confirms_the_self_declared_head(egrul, short_name, full_name, authority, expected):
    facts = egrul(org_body(short_name)["organization"], full_name=full_name, position="Директор",
                  authority=authority)
    assert facts["representative"] == expected
    assert facts["found"] is True


def test_egrul_representative_fact_without_the_organisation(egrul):
    unknown = egrul(org_body(inn="7707083893")["organization"], full_name="Соколова Анна Игоревна", authority="head")
    assert (unknown["found"], unknown["representative"]) == (False, "head_not_confirmed")
    assert "representative" not in egrul(org_body()["organization"])  # not asked: not answered
    with pytest.raises(OperatorError) as err:
        get_operator("registries.check_organization").func(organization=org_body()["organization"],
                                                           representative="Соколова")
    assert (err.value.code, err.value.retryable) == ("invalid_input", False)


def test_egrul_outage_makes_the_case_wait(egrul, registry_service):
    op = get_operator("registries.check_organization")
    assert op.retry.max_attempts >= 100_000
    assert (op.on_exhausted, op.error_code) == ("error", "registry_unavailable")
    with registry_service.faults_set("egrul:down"), pytest.raises(OperatorError) as err:
        egrul(org_body()["organization"])
    assert err.value.retryable and err.value.code == "registry_error"
    with pytest.raises(OperatorError) as err:
        egrul({"name": "ООО «Ромашка»"})
    assert (err.value.code, err.value.retryable) == ("invalid_input", False)


# --- the API ------------------------------------------------------------------------------------

def _post(product: Product, token: str, body: dict[str, Any]):
    return product.client().post("/api/v1/applications", json=body, headers=bearer(token))


def _upload(product: Product, token: str, kind: str = "power_of_attorney", data: bytes = PDF) -> Any:
    files = {"kind": kind, "file": (io.BytesIO(data), "доверенность.pdf")}
    return product.client().post("/api/v1/documents", data=files, headers=bearer(token))


def upload_scan(product: Product, token: str) -> int:
    """The id of a freshly uploaded scan of a power of attorney (for document_ids)."""
    r = _upload(product, token)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_head_of_organisation_applies_over_the_api(product: Product):
    token = product.citizen_token(last_name="Соколова", first_name="Анна", middle_name="Игоревна")
    body = org_body()
    body["representative"]["full_name"] = "Кто-то Другой"  # ignored: the ФИО is the account's
    r = _post(product, token, body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["applicant"] == "organization" and created["status"] in ("submitted", "in_progress")
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == created["number"]))
        assert app.process_id == "certificate_organization"
        assert app.data["representative"]["full_name"] == "Соколова Анна Игоревна"
        assert app.search_name.startswith("ромашка 7798102639")
        rep = db.session.scalar(select(OrganizationRepresentative)
                                .where(OrganizationRepresentative.application_id == app.id))
        assert (rep.full_name, rep.position, rep.authority, rep.poa_number, rep.poa_document_id) == (
            "Соколова Анна Игоревна", "Генеральный директор", "head", None, None)
        org = db.session.get(Organization, rep.organization_id)
        assert (org.inn, org.kpp, org.ogrn) == ("7798102639", "772901001", "1127724126155")


def test_the_heads_power_of_attorney_details_are_dropped(product: Product):
    """authority "head": whatever power-of-attorney data a client sends is neither validated nor stored."""
    token = product.citizen_token()
    body = org_body()
    body["representative"]["power_of_attorney"] = {"number": "", "issued_on": "вчера", "valid_to": "2001-01-01",
                                                   "extra": True}
    r = _post(product, token, body)
    assert r.status_code == 201, r.get_json()
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == r.get_json()["number"]))
        assert "power_of_attorney" not in app.data["representative"]
        rep = db.session.scalar(select(OrganizationRepresentative)
                                .where(OrganizationRepresentative.application_id == app.id))
        assert (rep.authority, rep.poa_number, rep.poa_issued_on, rep.poa_valid_to) == ("head", None, None, None)


def test_the_organisation_keeps_what_was_first_seen(product: Product):
    """A later applicant's requisites are unverified input: they never overwrite the organisation's row."""
    first, second = product.citizen_token(), product.citizen_token()
    assert _post(product, first, org_body()).status_code == 201
    with product.app.app_context():
        row = db.session.scalar(select(Organization).where(Organization.inn == "7798102639"))
        before = (row.id, row.kpp, row.ogrn, row.name)
    other = org_record("АО «Северный трубный завод»")
    typed = org_body(name="ООО «Подмена»", kpp="771301001", ogrn=other["ogrn"])
    r = _post(product, second, typed)
    assert r.status_code == 201, r.get_json()
    with product.app.app_context():
        rows = db.session.scalars(select(Organization).where(Organization.inn == "7798102639")).all()
        assert [(o.id, o.kpp, o.ogrn, o.name) for o in rows] == [before]
        app = db.session.scalar(select(Application).where(Application.number == r.get_json()["number"]))
        rep = db.session.scalar(select(OrganizationRepresentative)
                                .where(OrganizationRepresentative.application_id == app.id))
        assert rep.organization_id == before[0]
        assert app.data["organization"]["name"] == "ООО «Подмена»"  # the application keeps what was typed


def test_unattached_uploads_can_be_taken_back(product: Product):
    token, stranger = product.citizen_token(), product.citizen_token()
    doc_id = upload_scan(product, token)
    client = product.client()
    assert client.delete(f"/api/v1/documents/{doc_id}", headers=bearer(stranger)).status_code == 404
    r = client.delete(f"/api/v1/documents/{doc_id}", headers=bearer(token))
    assert r.status_code == 204
    again = client.delete(f"/api/v1/documents/{doc_id}", headers=bearer(token))
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    owner = client.get("/api/v1/auth/me", headers=bearer(token)).get_json()["id"]
    with product.app.app_context():
        assert db.session.get(Document, doc_id) is None
        rows = db.session.scalars(select(JournalEntry).where(JournalEntry.event == "document_deleted",
                                                             JournalEntry.actor == f"user:{owner}")).all()
        assert [(r.instance_id, r.details["document"], r.details["kind"]) for r in rows] == [
            (None, doc_id, "power_of_attorney")]
    # A scan that became part of an application is the case's: it cannot be taken back this way.
    attached = upload_scan(product, token)
    created = _post(product, token, {**org_body(authority="power_of_attorney"), "document_ids": [attached]})
    assert created.status_code == 201, created.get_json()
    assert client.delete(f"/api/v1/documents/{attached}", headers=bearer(token)).status_code == 404
    # The budget of unattached uploads is freed by taking files back.
    loose = [upload_scan(product, token) for _ in range(20)]
    assert _upload(product, token).status_code == 409
    assert client.delete(f"/api/v1/documents/{loose[0]}", headers=bearer(token)).status_code == 204
    assert _upload(product, token).status_code == 201


def test_broken_requisites_over_the_api_change_nothing(product: Product):
    token = product.citizen_token()
    body = with_change("organization.bank.account", "40702810938000000002",
                       with_change("organization.inn", "7798102638"))
    r = _post(product, token, body)
    assert r.status_code == 422
    error = r.get_json()["error"]
    fields = {f["field"]: f for f in error["fields"]}
    assert fields["organization.inn"]["message"] == ids.INN_TYPO
    assert fields["organization.bank.account"]["code"] == "checksum"
    assert product.client().get("/api/v1/applications", headers=bearer(token)).get_json()["total"] == 0


def test_power_of_attorney_scan_is_required_and_recorded(product: Product):
    token = product.citizen_token(last_name="Орлов", first_name="Денис")
    body = org_body(authority="power_of_attorney")
    r = _post(product, token, body)
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == [{
        "field": "documents.power_of_attorney", "code": "required",
        "message": "Приложите скан доверенности: без неё заявление от имени организации не принимается"}]
    other = _upload(product, token, kind="other")
    assert other.status_code == 201
    assert _post(product, token, {**body, "document_ids": [other.get_json()["id"]]}).status_code == 422
    refused = _upload(product, token, data=b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    assert refused.status_code == 415 and refused.get_json()["error"]["code"] == "invalid_format"
    scan = _upload(product, token)
    assert scan.status_code == 201 and scan.get_json()["kind"] == "power_of_attorney"
    foreign = product.citizen_token()
    assert _post(product, foreign, {**body, "document_ids": [scan.get_json()["id"]]}).status_code == 422
    r = _post(product, token, {**body, "document_ids": [scan.get_json()["id"]]})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert [(d["kind"], d["filename"]) for d in created["documents"]] == [("power_of_attorney", "доверенность.pdf")]
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == created["number"]))
        rep = db.session.scalar(select(OrganizationRepresentative)
                                .where(OrganizationRepresentative.application_id == app.id))
        poa = body["representative"]["power_of_attorney"]
        assert (rep.full_name, rep.authority, rep.poa_number) == ("Орлов Денис", "power_of_attorney", poa["number"])
        assert (rep.poa_issued_on.isoformat(), rep.poa_valid_to.isoformat()) == (poa["issued_on"], poa["valid_to"])
        assert db.session.get(Document, rep.poa_document_id).application_id == app.id
    expired = org_body(authority="power_of_attorney")
    expired["representative"]["power_of_attorney"]["valid_to"] = (TODAY - timedelta(days=1)).isoformat()
    r = _post(product, token, {**expired, "document_ids": [_upload(product, token).get_json()["id"]]})
    assert r.status_code == 422
    assert [f["field"] for f in r.get_json()["error"]["fields"]] == ["representative.power_of_attorney.valid_to"]


# --- the page ---------------------------------------------------------------------------------

def _errors_on(html: str) -> dict[str, str]:
    """{input id: its error message} as the page shows them next to the fields."""
    return dict(re.findall(r'<p class="field-error" id="(f-[\w-]+)-error"><span class="visually-hidden">Ошибка: '
                           r'</span>([^<]+)</p>', html))


def _page_form(html: str) -> dict[str, Any]:
    record = org_record("ООО «Ромашка»")
    return {"csrf_token": csrf_token(html), "applicant": "organization", "representative.full_name": "подделка",
            "organization.name": "ООО «Ромашка»", "organization.inn": record["inn"], "organization.kpp": record["kpp"],
            "organization.ogrn": record["ogrn"], "organization.legal_address": record["legal_address"],
            "organization.phone": "+7 (495) 123-45-67", "organization.email": "hr@romashka.ru",
            "organization.bank.bik": BIK, "organization.bank.account": "40702810938000000002",
            "organization.bank.corr_account": CORR_ACCOUNT, "representative.position": "Менеджер",
            "representative.authority": "power_of_attorney", "representative.power_of_attorney.number": "12",
            "representative.power_of_attorney.issued_on": (TODAY - timedelta(days=3)).strftime("%d.%m.%Y"),
            "representative.power_of_attorney.valid_to": "31.02.2030", "period.kind": "current_year"}


def test_the_organisation_page_renders_and_submits(product: Product):
    email = unique_email("org")
    product.citizen_token(email, last_name="Кузнецова", first_name="Ольга", middle_name="Павловна")
    client = product.client()
    assert login(client, email).status_code == 302
    page = client.get("/apply/organization?embed=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Кузнецова Ольга Павловна" in html and '<header' not in html  # embedded: no portal header
    for label in ("Полное наименование", "ИНН организации", "КПП", "ОГРН", "Юридический адрес", "БИК банка",
                  "Расчётный счёт", "Корреспондентский счёт", "Должность", "Дата выдачи доверенности",
                  "Скан доверенности"):
        assert f">{label}" in html, label
    assert re.search(r'<label for="f-organization-inn">', html) and 'placeholder="ДД.ММ.ГГГГ"' in html
    assert 'enctype="multipart/form-data"' in html and '<meta name="viewport"' in html
    assert "каждый не больше 5 МБ, всего не больше 20 файлов." in html

    r = client.post("/apply/organization", data=_page_form(html), content_type="multipart/form-data")
    assert r.status_code == 422
    errors = _errors_on(r.get_data(as_text=True))
    assert errors == {
        "f-organization-bank-account": ids.ACCOUNT_MISMATCH,
        "f-representative-power-of-attorney-valid-to": "Такой даты нет в календаре: проверьте день и месяц",
        "f-documents-power-of-attorney":
            "Приложите скан доверенности: без неё заявление от имени организации не принимается",
        "f-consent": "Чтобы подать заявление, подтвердите полномочия и дайте согласие на обработку персональных данных",
    }
    assert 'value="+7 (495) 123-45-67"' in r.get_data(as_text=True)  # what was typed comes back

    form = _page_form(html)
    form.update({"organization.bank.account": ACCOUNT, "representative.power_of_attorney.valid_to": "31.12.2030",
                 "documents.power_of_attorney": (io.BytesIO(b"not a pdf"), "скан.pdf")})
    r = client.post("/apply/organization", data=form, content_type="multipart/form-data")
    assert r.status_code == 422
    assert _errors_on(r.get_data(as_text=True))["f-documents-power-of-attorney"].startswith("Недопустимый формат")

    form = _page_form(html)
    form.update({"organization.bank.account": ACCOUNT, "representative.power_of_attorney.valid_to": "31.12.2030",
                 "documents.power_of_attorney": (io.BytesIO(PDF), "доверенность.pdf")})  # kept in the draft
    r = client.post("/apply/organization", data=form, content_type="multipart/form-data")
    assert r.status_code == 422 and set(_errors_on(r.get_data(as_text=True))) == {"f-consent"}
    assert "доверенность.pdf" in r.get_data(as_text=True)
    form = {**_page_form(html), "organization.bank.account": ACCOUNT,
            "representative.power_of_attorney.valid_to": "31.12.2030", "consent": "on"}
    r = client.post("/apply/organization", data=form, content_type="multipart/form-data")
    assert r.status_code == 302, _errors_on(r.get_data(as_text=True))
    number = r.location.rsplit("/", 1)[-1]
    confirmation = client.get(r.location).get_data(as_text=True)
    assert f"Номер заявления: <strong>{number}</strong>" in confirmation
    assert f'href="/applications/{number}/employees"' in confirmation
    assert "Кузнецова Ольга Павловна, Менеджер — по доверенности №\u00a012" in confirmation
    assert "31.12.2030" in confirmation and "Доверенность: доверенность.pdf" in confirmation
    fresh = client.get("/apply/organization").get_data(as_text=True)  # the draft became the case
    assert "+7 (495) 123-45-67" not in fresh and "доверенность.pdf" not in fresh
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        assert app.data["organization"]["phone"] == "+74951234567"
        assert app.data["representative"]["full_name"] == "Кузнецова Ольга Павловна"
        assert app.data["representative"]["power_of_attorney"]["valid_to"] == "2030-12-31"
