"""A certificate never contradicts itself: the period it states is covered by the policy it prints.

Every path that issues one is exercised - automatic, operator, appeal, higher appeal, manual
verification (tests/test_certificate_api.py) - plus the forms that must refuse an approval the data
cannot support, and the generator's last guard, met by a case that runs on an older deployed version
whose appeal form did not yet require the policy facts.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.provision import deploy_workflows
from engine import journal
from engine.incidents import list_incidents
from forms.coverage import PolicyTerm, coverage_gap
from forms.dates import today_moscow
from forms.validation import validate
from tasks.cases.models.cases import Application, Certificate
from tasks.config import engine_settings
from tasks.documents.certificate import CertificateData, InconsistentCertificate
from tests.support.accounts import add_user, bearer, csrf_token, login
from tests.support.backend import wait_for
from tests.support.pdf import pdf_text
from tests.support.product import PRODUCT_WORKFLOWS, Product
from tests.support.registry import demo_policies, demo_records
from web.extensions import db

YEAR = today_moscow().year
EXPIRED = {"found": True, "status": "expired", "valid_from": "2012-01-01", "valid_to": "2025-03-31"}
PERIOD = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
# (schema, decision field, the approving choice, whether the form has its own policy block)
APPROVING_FORMS = [
    ("operator_review", "decision", "approve", False),
    ("supervisor_review", "decision", "approve", False),
    ("manual_verification", "decision", "approve", True),
    ("appeal_review", "appeal_decision", "overturn", True),
    ("higher_appeal_review", "appeal_decision", "overturn", True),
]


def typed_policy(valid_from: str, valid_to: str | None = None, enp: str = "7414012927712067") -> dict[str, Any]:
    """The policy block a staff member types from the fund's answer."""
    return {"enp": enp, "insurer": {"name": "АО «СОГАЗ-Мед»", "code": "77011"}, "region": "г. Москва",
            "valid_from": valid_from, **({"valid_to": valid_to} if valid_to else {})}


# ------------------------------------------------------------------------------------ the rule itself
@pytest.mark.parametrize(("valid_from", "valid_to", "status", "gap"), [
    ("2012-01-01", None, "active", None),
    (f"{YEAR}-01-01", f"{YEAR}-12-31", None, None),
    ("2012-01-01", "2025-03-31", "expired", "полис истёк"),
    ("2015-03-15", None, "annulled", "полис аннулирован"),
    ("2012-01-01", f"{YEAR}-06-30", "active", f"полис действует только по 30.06.{YEAR}"),
    (f"{YEAR}-02-01", None, None, f"полис действует только с 01.02.{YEAR}"),
    (None, None, None, "не указана дата начала действия полиса"),
])
def test_coverage_says_what_keeps_a_policy_from_covering_the_period(valid_from, valid_to, status, gap) -> None:
    term = PolicyTerm.of({"valid_from": valid_from, "valid_to": valid_to, "status": status})
    assert coverage_gap(term, date(YEAR, 1, 1), date(YEAR, 12, 31)) == gap


@pytest.mark.parametrize(("schema", "field", "choice", "has_block"), APPROVING_FORMS)
def test_every_approving_form_refuses_a_registry_policy_that_does_not_cover_the_period(
        schema: str, field: str, choice: str, has_block: bool) -> None:
    context = {"application": {"period": PERIOD}, "policy_check": EXPIRED}
    errors = validate(schema, {field: choice}, surface="api", context=context)
    expected_field = "policy" if has_block else field
    problem = next(e for e in errors if e.field == expected_field)
    if schema != "manual_verification":  # there the block is required on approval by the schema itself
        assert "31.03.2025" in problem.message and "истёк" in problem.message
        assert f"01.01.{YEAR}" in problem.message
    covering = {"found": True, "status": "active", "valid_from": "2012-01-01", "valid_to": None}
    ok = validate(schema, {field: choice, **({"policy": typed_policy("2012-01-01")} if has_block else {})},
                  surface="api", context={"application": {"period": PERIOD}, "policy_check": covering})
    assert ok == []


@pytest.mark.parametrize(("schema", "field", "choice", "has_block"), [f for f in APPROVING_FORMS if f[3]])
def test_typed_policy_facts_must_cover_the_whole_period(schema: str, field: str, choice: str,
                                                       has_block: bool) -> None:
    context = {"application": {"period": PERIOD}, "policy_check": EXPIRED}
    late = validate(schema, {field: choice, "policy": typed_policy(f"{YEAR}-03-01", f"{YEAR}-06-30")},
                    surface="api", context=context)
    assert {e.field: e.code for e in late} == {"policy.valid_from": "policy_starts_late",
                                               "policy.valid_to": "policy_ends_early"}
    assert f"01.03.{YEAR}" in late[0].message
    assert validate(schema, {field: choice, "policy": typed_policy("2025-04-01")}, surface="api",
                    context=context) == []


def test_a_process_that_prints_no_policy_is_not_asked_for_one() -> None:
    """An organisation's appeal shares the form; its process never looks a policy up (no `policy_check`)."""
    assert validate("appeal_review", {"appeal_decision": "overturn"}, surface="api",
                    context={"application": {"period": PERIOD}}) == []


def test_a_refusal_or_request_needs_no_policy() -> None:
    context = {"application": {"period": PERIOD}, "policy_check": {"found": False}}
    assert validate("appeal_review", {"appeal_decision": "uphold", "appeal_comment": "Законно."},
                    surface="api", context=context) == []
    assert validate("operator_review", {"decision": "reject", "reasons": ["policy_not_found"],
                                        "explanation": "Полис не найден."}, surface="api", context=context) == []


# ----------------------------------------------------------------------------- the generator's guard
def certificate(**changes: Any) -> CertificateData:
    values = dict(
        number="2026-000001-1", issued_at=datetime(YEAR, 11, 30, 10, 0), last_name="Иванов", first_name="Сергей",
        middle_name="Петрович", birth_date=date(1985, 3, 14), enp="7414012927712067", insurer_name="АО «СОГАЗ-Мед»",
        insurer_code="77011", region="г. Москва", period_from=date(YEAR, 11, 1), period_to=date(YEAR, 11, 30),
        policy_valid_from=date(2012, 1, 1), policy_valid_to=None, official_name="Иванова Мария Петровна",
        official_position="Начальник отдела", organisation="ТФОМС", policy_status="active")
    return CertificateData(**{**values, **changes})


@pytest.mark.parametrize("changes", [
    {"policy_valid_to": date(2025, 3, 31)},
    {"policy_valid_from": date(YEAR, 11, 2)},
    {"policy_status": "expired"},
    {"policy_status": "annulled"},
    {"policy_valid_from": None},
])
def test_the_generator_refuses_facts_that_contradict_the_period(changes: dict[str, Any]) -> None:
    with pytest.raises(InconsistentCertificate, match="не выпущена"):
        certificate(**changes)


def test_the_generator_accepts_a_policy_covering_every_day() -> None:
    assert certificate(policy_valid_from=date(YEAR, 11, 1), policy_valid_to=date(YEAR, 11, 30)).enp
    assert certificate(policy_status=None).enp  # typed by staff from the fund's answer: no ЕРЗЛ status


# ------------------------------------------------------------------------------------- end to end
def _post(product: Product, token: str, path: str, body: Any) -> Any:
    return product.client().post(f"/api/v1/{path}", json=body, headers=bearer(token))


def _certificate_facts(product: Product, token: str, number: str) -> tuple[str, list[date], list[date]]:
    """The PDF's text, the period it states and the policy validity it prints."""
    r = product.client().get(f"/api/v1/applications/{number}/certificate.pdf", headers=bearer(token))
    assert r.status_code == 200
    text = " ".join(pdf_text(r.data).split())
    stated = re.search(r"в период с (\S+) по (\S+) указанное", text)
    printed = re.search(r"Срок действия полиса: с (\S+)(?: по (\S+))?", text)
    assert stated and printed, text

    def days(match: re.Match) -> list[date]:
        return [datetime.strptime(v, "%d.%m.%Y").date() for v in match.groups() if v and v[0].isdigit()]

    return text, days(stated), days(printed)


def assert_true_certificate(product: Product, token: str, number: str) -> str:
    text, (start, end), policy = _certificate_facts(product, token, number)
    assert policy[0] <= start, text
    assert len(policy) == 1 or policy[1] >= end, text  # one date: «с … бессрочно»
    return text


def _refused_and_appealed(product: Product, scenario: str) -> tuple[str, str]:
    token = product.citizen_token()
    number = product.apply(token, scenario)["number"]
    view = product.wait_status(token, number, "rejected")
    assert view["reasons"][0]["code"] == "policy_expired"
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, message="appeal offered")
    r = _post(product, token, f"applications/{number}/appeal", {"grounds": "Полис продлён, прошу выдать справку."})
    assert r.status_code == 201, r.get_json()
    return token, number


def _enp(scenario: str) -> str:
    return demo_policies(demo_records(scenario)[0])[0]["enp"]


def test_automatic_and_operator_certificates_print_a_policy_covering_their_period(product: Product) -> None:
    token = product.citizen_token()
    auto = product.apply(token, "policy_ends_2026" if YEAR == 2026 else "valid")["number"]
    doubtful = product.apply(token, "yo_spelling")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, doubtful, "operator_review")
    r = _post(product, operator, f"tasks/{task['id']}/complete", {"decision": "approve"})
    assert r.status_code == 200, r.get_json()
    for number in (auto, doubtful):
        product.wait_status(token, number, "ready")
        assert_true_certificate(product, token, number)


def test_an_overturned_appeal_needs_policy_facts_covering_the_period(product: Product) -> None:
    token, number = _refused_and_appealed(product, "policy_expired")
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    complete = f"tasks/{task['id']}/complete"

    r = _post(product, specialist, complete, {"appeal_decision": "overturn", "appeal_comment": "Отказ отменён."})
    assert r.status_code == 422
    problem = {f["field"]: f for f in r.get_json()["error"]["fields"]}["policy"]
    assert problem["code"] == "policy_required" and "31.03.2025" in problem["message"]
    _page_refuses_overturn_without_policy(product, task["id"])
    short = typed_policy("2025-04-01", f"{YEAR}-06-30", _enp("policy_expired"))
    r = _post(product, specialist, complete, {"appeal_decision": "overturn", "policy": short})
    assert r.status_code == 422
    assert [f["field"] for f in r.get_json()["error"]["fields"]] == ["policy.valid_to"]
    assert product.case(token, number)["status"] == "appealed"  # nothing changed

    r = _post(product, specialist, complete, {"appeal_decision": "overturn", "appeal_comment": "Отказ отменён.",
                                              "policy": typed_policy("2025-04-01", None, _enp("policy_expired"))})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "ready")
    text = assert_true_certificate(product, token, number)
    assert "01.04.2025" in text and "31.03.2025" not in text


def _page_refuses_overturn_without_policy(product: Product, task_id: int) -> None:
    """The specialist's page says the same, at the policy block, listed in the summary on top."""
    client = product.client()
    assert login(client, add_user(product.app, "appeals")).status_code == 302
    html = client.get(f"/inbox/tasks/{task_id}").get_data(as_text=True)
    r = client.post(f"/inbox/tasks/{task_id}/complete", data={
        "csrf_token": csrf_token(html), "appeal_decision": "overturn", "appeal_comment": "Отказ отменён."})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    summary = page[page.index('class="error-summary'):]
    assert "31.03.2025" in summary[:summary.index("</div>")]
    assert 'href="#f-policy"' in summary


def test_a_higher_appeal_overturn_needs_them_too(product: Product) -> None:
    token, number = _refused_and_appealed(product, "policy_annulled")
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    r = _post(product, specialist, f"tasks/{task['id']}/complete",
              {"appeal_decision": "uphold", "appeal_comment": "Полис аннулирован страховщиком."})
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, message="higher appeal offered")
    r = _post(product, token, f"applications/{number}/appeal", {"grounds": "Прошу пересмотреть."})
    assert r.status_code == 201, r.get_json()
    supervisor = product.staff_token("supervisor")
    higher = product.wait_task(supervisor, number, "higher_appeal_review")
    complete = f"tasks/{higher['id']}/complete"
    r = _post(product, supervisor, complete, {"appeal_decision": "overturn"})
    assert r.status_code == 422
    problem = {f["field"]: f for f in r.get_json()["error"]["fields"]}["policy"]
    assert "аннулирован" in problem["message"]
    r = _post(product, supervisor, complete, {"appeal_decision": "overturn",
                                              "policy": typed_policy(f"{YEAR}-01-01", None, _enp("policy_annulled"))})
    assert r.status_code == 200, r.get_json()
    product.wait_status(token, number, "ready")
    assert f"с 01.01.{YEAR}" in assert_true_certificate(product, token, number)


def _deploy_without_the_appeal_rule(product: Product, into: Path) -> None:
    """The individual process as deployed before the appeal form required policy facts."""
    for name in ("certificate_individual.bpmn", "refusal_chain.bpmn", "certificate_decision.dmn", "lanes.toml"):
        shutil.copy(PRODUCT_WORKFLOWS / name, into / name)
    schema = json.loads((Path(__file__).parent.parent / "forms/schemas/appeal_review.schema.json").read_text())
    schema.pop("x-rules")
    (into / "appeal_review.schema.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    deploy_workflows([into], actor="test", settings=engine_settings(product.env))


def test_the_generator_stops_a_false_certificate_as_an_incident(product: Product, tmp_path: Path) -> None:
    settings = engine_settings(product.env)
    _deploy_without_the_appeal_rule(product, tmp_path)
    try:
        token, number = _refused_and_appealed(product, "policy_expired")
    finally:
        deploy_workflows([PRODUCT_WORKFLOWS], actor="test", settings=settings)  # later cases: today's forms
    specialist = product.staff_token("appeals")
    task = product.wait_task(specialist, number, "appeal_review")
    r = _post(product, specialist, f"tasks/{task['id']}/complete", {"appeal_decision": "overturn"})
    assert r.status_code == 200, r.get_json()  # the old form let it through

    with product.app.app_context():  # short sessions: SQLite's single writer is the worker's
        app_id, instance_id = db.session.execute(select(Application.id, Application.instance_id)
                                                 .where(Application.number == number)).one()
    database = product.app.extensions["backoffice"].database
    incident = wait_for(lambda: next((i for i in list_incidents(database) if i["instance_id"] == instance_id), None),
                        timeout=60, message="the refused certificate as an incident")
    assert incident["operator"] == "certificates.issue" and incident["attempts"] == 1
    assert "не выпущена" in incident["error"] and "31.03.2025" in incident["error"]
    with database.session() as s:
        assert s.scalar(select(Certificate).where(Certificate.application_id == app_id)) is None
        assert "incident" in [e.event for e in journal.read(s, instance_id)]
    view = product.case(token, number)
    assert view["status"] == "in_progress" and view["status_label"] == "В обработке"
    assert "download_certificate" not in view["actions"]
    listed = product.client().get("/api/v1/applications", headers=bearer(token)).get_json()
    assert next(c for c in listed["items"] if c["number"] == number)["status"] == "in_progress"
    r = product.client().get(f"/api/v1/applications/{number}/certificate.pdf", headers=bearer(token))
    assert r.status_code == 409
    assert product.case(specialist, number)["status"] == "approved"  # staff see where it stopped

