"""The impact preview: a draft's decision table replayed over decided cases, checked against running the
draft's specs on each case's full data.

Cases are decided live by the runtime (their step rows are the engine's own records). The preview sees
only what those rows hold; the test sees every case's data and runs the draft with SpiffWorkflow, so the
two agree only if the replay is faithful, and where they cannot agree the preview must say so.
"""

from __future__ import annotations

import html
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import Step
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp, login
from tests.support.impact import ImpactProcess, decide_cases, deploy_impact_process, evaluate_directly
from web.extensions import db


def _token(app: Flask, role: str) -> str:
    email = add_user(app, role)
    r = client_from(app).post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _draft(app: Flask, token: str, process: ImpactProcess, dmn: str) -> int:
    r = client_from(app).post("/api/v1/processes/drafts", headers=bearer(token),
                              json={"files": {process.dmn_file: dmn}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["draft_id"]


def _impact(app: Flask, token: str, draft_id: int, **body: Any):
    return client_from(app).post(f"/api/v1/processes/drafts/{draft_id}/impact", headers=bearer(token), json=body)


def _expected(process: ImpactProcess, dmn: str, cases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per case: what the live table and what the draft table decide on the full data, and where they lead."""
    live, new = process.dmn(), dmn
    return {number: (evaluate_directly(process, live, data), evaluate_directly(process, new, data))
            for number, data in cases.items()}


def test_preview_counts_what_running_the_draft_on_each_case_gives(backend, make_app, tmp_path) -> None:
    app = make_app()
    process = deploy_impact_process(backend.settings(), tmp_path)
    cases = decide_cases(app, process)
    token = _token(app, "analyst")
    dmn = process.dmn(high=75, mid=45)  # 72 moves down to the north/mid rules, 42 down to the low rule
    draft_id = _draft(app, token, process, dmn)

    r = _impact(app, token, draft_id)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["cases"] == len(cases)

    expected = _expected(process, dmn, cases)
    changed = {n for n, ((before, _), (after, _)) in expected.items() if before != after}
    rerouted = {n for n, ((_, went), (_, goes)) in expected.items() if went != goes}
    assert changed and rerouted and rerouted < changed
    decisions = {c["case"]: c for c in body["changed"] if c["kind"] == "decision"}
    gateways = {c["case"]: c for c in body["changed"] if c["kind"] == "gateway"}
    unreplayable = {u["case"]: u for u in body["unreplayable"]}
    # the low rule's note reads data the step does not record: those cases are reported, not guessed
    low_now = {n for n in changed if expected[n][1][0]["verdict"] == "decline"}
    assert low_now and set(unreplayable) == low_now
    assert all("правила 4" in u["reason"] and "не записаны" in u["reason"] for u in unreplayable.values())
    assert set(decisions) == changed - low_now
    for number, change in decisions.items():
        (before, _), (after, _) = expected[number]
        assert change["from"] == before and change["to"] == after, number
        assert change["element"] == "decide" and change["decision"]
    assert set(gateways) == rerouted - low_now
    for number, change in gateways.items():
        (_, went), (_, goes) = expected[number]
        assert (change["element"], change["from"], change["to"]) == ("gw", went, goes)
    assert body["changed_cases"] == len(changed - low_now)

    newest = _impact(app, token, draft_id, limit=5).get_json()
    assert newest["cases"] == 5
    assert {c["case"] for c in newest["changed"]} <= set(sorted(cases)[-5:])


def test_changed_input_expression_makes_every_case_unreplayable(backend, make_app, tmp_path) -> None:
    app = make_app()
    process = deploy_impact_process(backend.settings(), tmp_path)
    cases = decide_cases(app, process)
    token = _token(app, "admin")
    new_expression = '(profile.get("district") or "none")'
    draft_id = _draft(app, token, process, process.dmn(region=new_expression))
    body = _impact(app, token, draft_id).get_json()
    assert body["cases"] == len(cases) and body["changed"] == []
    assert {u["case"] for u in body["unreplayable"]} == set(cases)
    assert all(new_expression in u["reason"] and "«Регион»" in u["reason"] for u in body["unreplayable"])


def test_review_page_shows_the_changed_cases_linked_to_the_staff_case(backend, make_app, tmp_path) -> None:
    app = make_app()
    process = deploy_impact_process(backend.settings(), tmp_path)
    cases = decide_cases(app, process)
    token = _token(app, "analyst")
    draft_id = _draft(app, token, process, process.dmn(high=75))
    proposed = client_from(app).post(f"/api/v1/processes/drafts/{draft_id}/propose", headers=bearer(token),
                                     json={"comment": "Порог высокого балла 75"})
    assert proposed.status_code == 200, proposed.get_json()

    reviewer = client_from(app)
    assert login(reviewer, add_user(app, "analyst")).status_code == 302
    page = reviewer.get(f"/processes/drafts/{draft_id}").get_data(as_text=True)
    assert "Влияние на принятые решения" in page
    moved = [n for n, d in cases.items() if d["score"] == 72]
    assert f"заявлений — {len(cases)}, решение изменилось бы у {len(moved)}" in page
    for number in moved:
        assert f'href="/staff/cases/{number}/journal">{number}</a>' in page
    assert html.escape("Высокий балл") in page and "Средний балл" in page and "На проверке" in page


def test_roles_and_bad_input(backend, make_app, tmp_path) -> None:
    app = make_app()
    process = deploy_impact_process(backend.settings(), tmp_path)
    analyst = _token(app, "analyst")
    draft_id = _draft(app, analyst, process, process.dmn(high=75))
    for role in ("operator", "citizen"):
        r = _impact(app, _token(app, role) if role != "citizen" else _citizen_token(app), draft_id)
        assert r.status_code == 403, role
    assert client_from(app).post(f"/api/v1/processes/drafts/{draft_id}/impact", json={}).status_code == 401
    missing = _impact(app, analyst, draft_id + 10_000)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    for limit in (0, "10", 100_001, True):
        bad = _impact(app, analyst, draft_id, limit=limit)
        assert bad.status_code == 422 and bad.get_json()["error"]["fields"][0]["field"] == "limit", limit
    operator = client_from(app)
    assert login(operator, add_user(app, "operator")).status_code == 302
    assert operator.get(f"/processes/drafts/{draft_id}").status_code == 403


def _citizen_token(app: Flask) -> str:
    email = add_user(app, "citizen")
    r = client_from(app).post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_passes_recorded_without_outputs_are_replayed_on_their_own_version(backend, make_app, tmp_path) -> None:
    """Steps written before outputs were recorded: "before" comes from the case's version's table."""
    app = make_app()
    process = deploy_impact_process(backend.settings(), tmp_path)
    cases = decide_cases(app, process)
    with app.app_context():
        steps = db.session.scalars(select(Step).where(Step.process_id == process.process_id,
                                                      Step.element == "decide")).all()
        assert len(steps) == len(cases) and all("outputs" in s.details for s in steps)
        for step in steps:
            step.details = {k: v for k, v in step.details.items() if k != "outputs"}
        db.session.commit()
    token = _token(app, "analyst")
    dmn = process.dmn(high=75)
    body = _impact(app, token, _draft(app, token, process, dmn)).get_json()
    expected = _expected(process, dmn, cases)
    changed = {n for n, ((before, _), (after, _)) in expected.items() if before != after}
    assert changed and {c["case"] for c in body["changed"] if c["kind"] == "decision"} == changed
    for change in (c for c in body["changed"] if c["kind"] == "decision"):
        assert (change["from"], change["to"]) == (expected[change["case"]][0][0], expected[change["case"]][1][0])
    # the low rule's note reads unrecorded data, but the draft leaves those cases on the same rule and text
    assert body["unreplayable"] == []
