"""A case on its diagram and the step analytics, in headless Chromium against the whole product.

A supervisor opens a case that waits for an operator (the applicant typed «е» where the registries write
«ё»): on the case's diagram the operator's task is marked as where the case stands, the registry checks
and the decision are marked as done, the flows the case took are marked, and a click on a check shows
the service call with its parameters. Then the analytics page of the process: each element's count on
the heatmap and each flow's count equal what SQL counts in the `step` table for the same period, and
every service task's passes equal the service calls done. Citizens and operators are turned away from
what is not theirs.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import text

from engine.runtime import DETACHED
from forms.dates import today_moscow
from tests.support.accounts import add_user, bearer, login
from tests.support.backend import wait_for
from tests.support.browser import chromium, log_in, served
from tests.support.product import PRODUCT_WORKFLOWS, Product
from tests.support.screenshots import Screenshots
from web.analytics.views import Period
from web.extensions import db

PROCESS = "certificate_individual"
DESKTOP = {"width": 1366, "height": 900}
CHECKS = ("check_passport", "check_snils", "find_policy")
# The heatmap draws the process's own diagram; the steps of the process it calls (the refusal chain) are
# counted in the page's tables only.
OWN_ELEMENTS = set(re.findall(r'\bid="([^"]+)"', (PRODUCT_WORKFLOWS / f"{PROCESS}.bpmn").read_text(encoding="utf-8")))
CHAIN = "refusal_chain"
CHAIN_NAME = "Отказ, повторная подача и обжалование"
CHAIN_ELEMENTS = set(re.findall(r'\bid="([^"]+)"', (PRODUCT_WORKFLOWS / f"{CHAIN}.bpmn").read_text(encoding="utf-8")))


def _classes(page, element_id: str) -> str:
    return page.locator(f'.djs-element[data-element-id="{element_id}"]').first.get_attribute("class") or ""


def _sql_counts(product: Product, period: Period) -> tuple[dict[str, int], dict[tuple[str, str], int], dict[str, int]]:
    """Passes per element, cases per (source, target) and service calls done per element, straight from SQL, all
    three of one moment (one snapshot: a call finished between two reads would count in one and not the other)."""
    params = {"p": PROCESS, "since": period.since, "until": period.until, "detached": DETACHED}
    with product.app.app_context():
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        passes = dict(db.session.execute(text(
            "SELECT element, count(*) FROM step WHERE process_id = :p AND ended_at >= :since AND ended_at < :until "
            "GROUP BY element"), params).all())
        flows = {(s, t): n for s, t, n in db.session.execute(text(
            "SELECT source, element, count(DISTINCT instance_id) FROM step WHERE process_id = :p "
            "AND ended_at >= :since AND ended_at < :until AND source IS NOT NULL GROUP BY source, element"), params)}
        calls = dict(db.session.execute(text(
            "SELECT c.task_spec, count(*) FROM service_call c JOIN process_instance i ON i.id = c.instance_id "
            "WHERE i.process_id = :p AND c.status = 'done' AND c.finished_at >= :since AND c.finished_at < :until "
            "AND c.task_guid <> :detached "  # a call a case owes outside its diagram (a cancellation notice)
            "GROUP BY c.task_spec"), params).all())
        db.session.rollback()
    return passes, flows, calls


def _quiet(product: Product, period: Period) -> None:
    """Wait until the counts stop moving: cases of earlier tests on the module's product may still be taking
    steps, and the page and the SQL below must count the same moment."""
    previous = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        counts = _sql_counts(product, period)
        if counts == previous:
            return
        previous = counts
        time.sleep(2)
    raise AssertionError("the step counts kept changing for 90 s")


def _open_heatmap(page: Page, base: str, product: Product, period: Period, drawn: str | None = None) -> None:
    """The process's analytics page for `period` once the step counts stopped changing, with its heatmap
    drawn: of the process itself, or of the process it calls named by `drawn` (chosen on the page)."""
    _quiet(product, period)
    page.goto(f"{base}/processes/{PROCESS}/analytics?from={period.first:%d.%m.%Y}&to={period.last:%d.%m.%Y}")
    if drawn is not None:
        page.get_by_label("Схема на тепловой карте").select_option(drawn)
        page.get_by_role("button", name="Показать").click()
    expect(page.locator("[data-process-heatmap]")).to_have_attribute("data-viewer-ready", "heatmap", timeout=30000)


def _badges(page: Page, selector: str) -> dict[str, int]:
    """The numbers drawn on the diagram by the badges `selector` matches, by the element they sit on."""
    return page.evaluate("""selector => Object.fromEntries([...document.querySelectorAll(selector)].map(
        b => [b.closest('[data-container-id]').dataset.containerId, Number(b.textContent)]))""", selector)


def test_case_on_its_diagram_and_the_step_heatmap(product: Product, screenshots: Screenshots) -> None:
    citizen = product.citizen_token()
    operator = product.staff_token("operator")
    number = product.apply(citizen, "yo_spelling")["number"]
    task = product.wait_task(operator, number, "operator_review")
    ready = product.apply(citizen, "valid")["number"]
    product.wait_status(citizen, ready, "ready")
    boss = add_user(product.app, "supervisor")

    # The JSON: a supervisor sees service parameters, an operator the path without them, a citizen nothing.
    supervisor_token = product.staff_token("supervisor")
    r = product.client().get(f"/api/v1/applications/{number}/diagram", headers=bearer(supervisor_token))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert {"check_passport", "decide"} <= set(body["done"]) and "operator_review" not in body["done"]
    assert [c["element"] for c in body["current"] if c["kind"] == "user_task"] == ["operator_review"]
    assert "params" in body["details"]["check_passport"]["calls"][0]
    assert body["details"]["decide"]["decisions"][0]["rules"], body["details"]["decide"]
    r = product.client().get(f"/api/v1/applications/{number}/diagram", headers=bearer(operator))
    assert r.status_code == 200
    assert "params" not in r.get_json()["details"]["check_passport"]["calls"][0]
    assert "decisions" not in r.get_json()["details"]["decide"]
    assert product.client().get(f"/api/v1/applications/{number}/diagram", headers=bearer(citizen)).status_code == 403
    for token in (citizen, operator):
        assert product.client().get(f"/api/v1/processes/{PROCESS}/analytics", headers=bearer(token)).status_code == 403
    for role in ("citizen", "operator"):
        client = product.client()
        login(client, add_user(product.app, role))
        for path in (f"/processes/{PROCESS}/analytics", f"/processes/{PROCESS}/analytics.csv", "/analytics"):
            assert client.get(path).status_code == 403, (role, path)
        expected = 200 if role == "operator" else 403  # an operator works on the case: the journal page is theirs
        assert client.get(f"/staff/cases/{number}/journal").status_code == expected

    period = Period(today_moscow() - timedelta(days=1), today_moscow() + timedelta(days=1))
    with served(product) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, boss, "/dashboard", app=product.app)
        page.goto(f"{base}/staff/cases/{number}/journal")
        expect(page.locator("[data-case-diagram]")).to_have_attribute("data-viewer-ready", "case", timeout=30000)
        assert "case-current" in _classes(page, "operator_review")
        for element in (*CHECKS, "decide"):
            assert "case-done" in _classes(page, element), element
        assert "case-current" not in _classes(page, "check_passport")
        assert page.locator(".djs-connection.case-flow-taken").count() >= 3
        assert "case-flow-taken" in _classes(page, "f_verdict_review")  # into the task the case waits at
        # Without the drawing the same facts are text on the page.
        expect(page.locator('.case-diagram__current li[data-element="operator_review"]')).to_contain_text(
            "Ждёт сотрудника")
        expect(page.locator('.case-diagram__history tr[data-element="check_passport"]')).to_have_count(1)
        page.locator('.djs-element[data-element-id="check_passport"]').first.click()
        details = page.locator("[data-case-details]")
        expect(details).to_be_visible()
        expect(details).to_contain_text("Сервис")
        expect(details).to_contain_text("Параметры")
        screenshots.take(page, "case-diagram")

        # The task page has the same diagram folded away; unfolded, it is drawn.
        page.goto(f"{base}/inbox/tasks/{task['id']}")
        page.locator("#case-diagram > summary").click()
        expect(page.locator("[data-case-diagram]")).to_have_attribute("data-viewer-ready", "case", timeout=30000)
        assert "case-current" in _classes(page, "operator_review")

        # The heatmap: every count drawn equals SQL's count for the period.
        _open_heatmap(page, base, product, period)
        screenshots.take(page, "analytics-heatmap")
        passes, flows, calls = _sql_counts(product, period)
        drawn = _badges(page, ".heat-badge")
        assert drawn == {element: n for element, n in passes.items() if element in OWN_ELEMENTS}
        assert drawn["check_passport"] == passes["check_passport"] >= 2
        flow_badges = _badges(page, ".flow-badge")
        data = page.evaluate("JSON.parse(document.getElementById('heatmap-data').textContent)")
        assert flow_badges == data["flows"] and flow_badges
        api = product.client().get(f"/api/v1/processes/{PROCESS}/analytics", headers=bearer(supervisor_token),
                                   query_string={"from": period.first.isoformat(), "to": period.last.isoformat()})
        assert api.status_code == 200, api.get_json()
        # Flow ids repeat between a process and the one it calls (both have a "c_start"): a flow is the
        # process's own when its source step is.
        by_flow = {f["id"]: f["taken"] for f in api.get_json()["flows"]
                   if f["id"] in OWN_ELEMENTS and f["source"] in OWN_ELEMENTS}
        assert by_flow == flow_badges
        assert {(f["source"], f["target"]): f["taken"] for f in api.get_json()["flows"]} == flows
        for element, done in calls.items():
            assert passes.get(element) == done, element
        for e in api.get_json()["elements"]:
            assert e["passes"] == passes[e["element"]]


def test_a_refused_case_shows_the_called_process_and_the_heatmap_draws_it(product: Product,
                                                                          screenshots: Screenshots) -> None:
    """The refusal chain is a process the certificate process calls: the case's diagram has a tab for it with the
    steps the case took there marked, and the heatmap can draw it with the same counts as SQL."""
    citizen = product.citizen_token()
    number = product.apply(citizen, "policy_number_unknown")["number"]
    product.wait_status(citizen, number, "rejected")
    supervisor = product.staff_token("supervisor")

    def settled() -> dict | None:  # the refusal notice sent: the case waits for a resubmission or an appeal
        body = product.client().get(f"/api/v1/applications/{number}/diagram", headers=bearer(supervisor)).get_json()
        calls = [c for c in body["current"] if c["kind"] in ("service_call", "incident")]
        return body if not calls and "wait_rejected" in body["processes"][-1]["active"] else None

    body = wait_for(settled, timeout=60, message="the case to wait in the refusal chain")
    own, chain = body["processes"]
    assert (own["process_id"], chain["process_id"], chain["name"]) == (PROCESS, CHAIN, CHAIN_NAME)
    assert set(own["done"]) <= OWN_ELEMENTS and "refusal" not in own["done"]  # the call is still running
    assert chain["done"] and set(chain["done"]) <= CHAIN_ELEMENTS and chain["flows"]
    assert product.client().get(f"/api/v1/applications/{number}/diagram", headers=bearer(citizen)).status_code == 403

    period = Period(today_moscow() - timedelta(days=1), today_moscow() + timedelta(days=1))
    with served(product) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, add_user(product.app, "supervisor"), "/dashboard", app=product.app)
        page.goto(f"{base}/staff/cases/{number}/journal")
        canvas = page.locator("[data-case-diagram]")
        expect(canvas).to_have_attribute("data-viewer-ready", "case", timeout=30000)
        expect(canvas).to_have_attribute("data-process", PROCESS)
        assert "case-current" in _classes(page, "refusal")  # the call activity the case is inside
        page.get_by_role("tab", name=CHAIN_NAME).click()
        expect(canvas).to_have_attribute("data-process", CHAIN)
        expect(canvas).to_have_attribute("data-viewer-ready", "case", timeout=30000)
        expect(page.get_by_role("tab", name=CHAIN_NAME)).to_have_attribute("aria-selected", "true")
        for element in chain["done"]:
            assert "case-done" in _classes(page, element), element
        assert page.locator(".djs-connection.case-flow-taken").count() == len(chain["flows"])
        screenshots.take(page, "case-diagram-called-process")

        _open_heatmap(page, base, product, period, drawn=CHAIN)
        screenshots.take(page, "analytics-heatmap-called-process")
        passes, _, _ = _sql_counts(product, period)
        drawn = _badges(page, ".heat-badge")
        assert drawn == {element: n for element, n in passes.items() if element in CHAIN_ELEMENTS}
        assert all(drawn.get(element, 0) >= 1 for element in chain["done"] if element in drawn)
        assert set(drawn) & set(chain["done"])
