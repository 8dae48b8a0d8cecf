"""The diff of two versions of a process, or of a draft against the current version: computation, API and page.

The computation on the product's own diagrams edited as text (engine.bpmn_diff, engine.dmn_diff); the
page and `GET /api/v1/processes/{id}/diff` through Flask's test client on a small deployed process.
That the browser colours exactly the elements listed here is tests/test_browser_studio_flow.py.
"""

from __future__ import annotations

import re

from backoffice.provision import deploy_workflows
from engine.bpmn_diff import diff_bpmn
from engine.dmn_diff import diff_dmn
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp, login
from tests.support.product import PRODUCT_WORKFLOWS
from tests.support.studio import TASK_NAME, deploy_studio_process

BPMN = (PRODUCT_WORKFLOWS / "certificate_individual.bpmn").read_text(encoding="utf-8")
DMN = (PRODUCT_WORKFLOWS / "certificate_decision.dmn").read_text(encoding="utf-8")
NEW_TASK_NAME = "Проверить <i>всё</i> & «сведения»"


def _edit(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _by_id(elements) -> dict:
    return {e.element_id: e for e in elements}


def test_identical_files_have_no_changes() -> None:
    assert diff_bpmn(BPMN, BPMN) == [] and diff_dmn(DMN, DMN) == []


def test_a_timer_moved_to_another_sla_and_a_renamed_task_are_the_only_changes() -> None:
    new = _edit(BPMN, ('sla("registry_wait")', 'sla("operator_review")'),
                ('name="Принять заявление"', 'name="Принять &lt;b&gt;заявление&lt;/b&gt;"'))
    changes = _by_id(diff_bpmn(BPMN, new))
    assert set(changes) == {"checks_timeout", "accept"}
    timer = changes["checks_timeout"]
    assert (timer.change, timer.kind, timer.name) == ("changed", "boundaryEvent", "Реестры не ответили")
    assert [(c.path, c.old, c.new) for c in timer.changes] == [
        ("timerEventDefinition[checks_timeout_def]/timeDate", 'sla("registry_wait")', 'sla("operator_review")')]
    assert [(c.path, c.new) for c in changes["accept"].changes] == [("@name", "Принять <b>заявление</b>")]


def test_conditions_scripts_extension_properties_and_lanes_count_as_changes() -> None:
    new = _edit(BPMN, ('decision == "approve"', 'decision == "approved"'),
                ('review_sla = "operator_review"</bpmn:script>', 'review_sla = "supervisor_review"</bpmn:script>'),
                ('<spiffworkflow:parameter id="status" type="str" value="&quot;submitted&quot;"/>',
                 '<spiffworkflow:parameter id="status" type="str" value="&quot;accepted&quot;"/>'),
                ('<bpmn:flowNodeRef>accept</bpmn:flowNodeRef>', ''),
                ('<bpmn:lane id="lane_operator" name="Оператор">',
                 '<bpmn:lane id="lane_operator" name="Оператор"><bpmn:flowNodeRef>accept</bpmn:flowNodeRef>'))
    changes = _by_id(diff_bpmn(BPMN, new))
    assert set(changes) == {"f_review_approve", "accept", "notify_submitted"}
    assert {c.path for c in changes["accept"].changes} == {"script", "lane"}
    lane = next(c for c in changes["accept"].changes if c.path == "lane")
    assert (lane.old, lane.new) == ("Система (lane_system)", "Оператор (lane_operator)")
    assert [c.path for c in changes["f_review_approve"].changes] == ["conditionExpression"]
    assert [c.path for c in changes["notify_submitted"].changes] == \
        ["extensionElements/serviceTaskOperator[notify.case_status]/parameters/parameter[status]@value"]


def test_added_removed_layout_only_and_lane_changes() -> None:
    flow = '<bpmn:sequenceFlow id="f_timeout" sourceRef="checks_timeout" targetRef="merge_manual"/>'
    edge = re.search(r'\s*<bpmndi:BPMNEdge id="f_timeout_di".*?</bpmndi:BPMNEdge>', BPMN, re.S).group(0)
    bounds = '<dc:Bounds x="390" y="805" width="100" height="80" />'
    new = _edit(BPMN, (flow, flow.replace('"f_timeout"', '"f_timeout_2"')),
                (edge, edge.replace("f_timeout", "f_timeout_2")), (bounds, bounds.replace('"390"', '"400"')))
    assert {(e.element_id, e.change) for e in diff_bpmn(BPMN, new)} == {
        ("f_timeout_2", "added"), ("f_timeout", "removed"), ("accept", "layout")}
    renamed_lane = _edit(BPMN, ('name="Оператор">', 'name="Операторы">'))
    assert [(e.element_id, e.change) for e in diff_bpmn(BPMN, renamed_lane)] == [("lane_operator", "changed")]


def test_decision_tables_are_compared_rule_by_rule() -> None:
    new = _edit(DMN, ('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"'),
                ('<text>in ("expired", "replaced", "lost")</text>', '<text>in ("expired", "lost")</text>'),
                ('<output id="out_note" label="Пояснение"', '<output id="out_note" label="Пояснение для заявителя"'))
    rule = re.search(r'\s*<rule id="rule_1">.*?</rule>', new, re.S).group(0)  # first rule -> last, a new one first
    added = rule.replace('"rule_1', '"rule_new')
    new = new.replace(rule, "").replace("</decisionTable>", added + rule + "</decisionTable>")
    [decision] = diff_dmn(DMN, new)
    assert decision.change == "changed"
    assert [(f.column, f.old, f.new) for f in decision.fields] == [("hitPolicy", "UNIQUE", "FIRST")]
    assert [(c.column_id, c.change) for c in decision.columns] == [("out_note", "changed")]
    rules = {r.rule_id: r for r in decision.rules}
    assert set(rules) == {"rule_new", "rule_1"}
    assert rules["rule_new"].change == "added" and rules["rule_1"].moved
    assert [(c.column, c.old, c.new) for c in rules["rule_1"].cells] == [
        ("Паспорт (МВД)", 'in ("expired", "replaced", "lost")', 'in ("expired", "lost")')]


def _two_versions(backend, tmp_path):
    """A small process deployed twice: its user task renamed (a name with markup), a decision rule changed."""
    demo = deploy_studio_process(backend.settings(), tmp_path / "v1")
    changed = tmp_path / "v2"
    changed.mkdir()
    for name in (demo.bpmn_file, demo.dmn_file, "lanes.toml"):
        text = (tmp_path / "v1" / name).read_text(encoding="utf-8")
        text = text.replace("<text>5</text>", "<text>7</text>").replace(
            "Проверить &lt;b&gt;заявку&lt;/b&gt; &amp; «сведения»", "Проверить &lt;i&gt;всё&lt;/i&gt; &amp; «сведения»")
        (changed / name).write_text(text, encoding="utf-8")
    deploy_workflows([changed], actor="second-analyst", settings=backend.settings())
    return demo, changed


def _token(app, role: str) -> str:
    email = add_user(app, role)
    r = client_from(app).post("/api/v1/auth/token", json={"email": email, "password": PASSWORD,
                                                           "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_the_api_compares_versions_and_a_draft_against_the_current_one(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo, changed = _two_versions(backend, tmp_path)
    client, token = client_from(app), _token(app, "analyst")
    r = client.get(f"/api/v1/processes/{demo.process_id}/diff?from=1&to=2", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["from"] == {"ref": "1", "version": 1, "draft_id": None} and body["to"]["version"] == 2
    files = {f["file"]: f for f in body["files"]}
    assert files[demo.bpmn_file]["status"] == "changed"
    assert [(e["element_id"], e["change"], e["element_name"]) for e in files[demo.bpmn_file]["elements"]] == [
        ("review", "changed", NEW_TASK_NAME)]
    assert files[demo.bpmn_file]["elements"][0]["changes"] == [
        {"field": "@name", "old": TASK_NAME, "new": NEW_TASK_NAME}]
    [decision] = files[demo.dmn_file]["decisions"]
    assert decision["rules"] == [{"rule_id": "rule_other", "position": 2, "change": "changed", "moved": False,
                                  "cells": [{"column": "Срок, дней", "old": "5", "new": "7"}]}]

    # A draft against the current version (the default `from`): only the draft's files of this process count.
    sources = {p.name: p.read_text(encoding="utf-8") for p in changed.iterdir() if p.suffix in (".bpmn", ".dmn")}
    sources[demo.bpmn_file] = sources[demo.bpmn_file].replace('name="Готово"', 'name="Завершено"')
    created = client.post("/api/v1/processes/drafts", json={"files": sources}, headers=bearer(token))
    draft = created.get_json()["draft_id"]
    r = client.get(f"/api/v1/processes/{demo.process_id}/diff?to=draft:{draft}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["from"]["version"] == 2 and r.get_json()["to"] == {"ref": f"draft:{draft}", "version": None,
                                                                            "draft_id": draft}
    bpmn = next(f for f in r.get_json()["files"] if f["file"] == demo.bpmn_file)
    assert [(e["element_id"], e["change"]) for e in bpmn["elements"]] == [("done", "changed")]

    other = deploy_studio_process(backend.settings(), tmp_path / "other")
    for query, status, code in [
        ("from=1&to=9", 404, "not_found"), (f"from=1&to=draft:{draft + 1000}", 404, "not_found"),
        ("from=1&to=x", 400, "bad_request"), ("from=draft:&to=1", 400, "bad_request"), ("from=1", 400, "bad_request"),
    ]:
        r = client.get(f"/api/v1/processes/{demo.process_id}/diff?{query}", headers=bearer(token))
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), query
    r = client.get(f"/api/v1/processes/{other.process_id}/diff?to=draft:{draft}", headers=bearer(token))
    assert r.status_code == 404 and "нет процесса" in r.get_json()["error"]["message"]
    assert client.get("/api/v1/processes/nope/diff?to=1", headers=bearer(token)).status_code == 404

    for who, status in [(_token(app, "operator"), 403), (None, 401)]:
        r = client_from(app).get(f"/api/v1/processes/{demo.process_id}/diff?from=1&to=2",
                                 headers=bearer(who) if who else {})
        assert r.status_code == status and r.get_json()["error"]["code"] in ("forbidden", "unauthorized")


def test_the_page_lists_changes_as_text_and_is_reached_from_the_catalogue(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo, _ = _two_versions(backend, tmp_path)
    client = client_from(app)
    assert login(client, add_user(app, "analyst")).status_code == 302
    catalogue = client.get("/processes").get_data(as_text=True)
    assert f'action="/processes/{demo.process_id}/diff"' in catalogue and "Сравнить версии" in catalogue

    page = client.get(f"/processes/{demo.process_id}/diff?from=1&to=2").get_data(as_text=True)
    assert '<tr data-element-id="review" data-change="changed">' in page
    assert "Проверить &lt;i&gt;всё&lt;/i&gt;" in page and "<i>всё</i>" not in page  # names are text
    assert 'data-studio-diff data-old-source="diff-old-1"' in page and "bpmn-diff-" in page
    assert '<tr data-rule-id="rule_other" data-change="changed">' in page
    assert client.get(f"/processes/{demo.process_id}/diff?from=1&to=oops").status_code == 400
    assert client.get(f"/processes/{demo.process_id}/diff?from=1&to=7").status_code == 404

    citizen = client_from(app)
    assert login(citizen, add_user(app, "operator")).status_code == 302
    assert citizen.get(f"/processes/{demo.process_id}/diff?from=1&to=2").status_code == 403
    anonymous = client_from(app).get(f"/processes/{demo.process_id}/diff?from=1&to=2")
    assert anonymous.status_code in (302, 401)
