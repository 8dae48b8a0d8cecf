"""The analyst's whole flow in Chromium, against the whole product: look, upload, fix, propose, review the diff
with a second pair of eyes, approve, and roll back.

The change is small and real: the registries' timeout moves to another SLA name and the operator's task is
renamed. The diff page colours the changed elements with bpmn-js-differ in the browser and lists them from
the server's computation: both must be exactly these two elements, so the two cannot drift apart. New
applications (over the citizen API) follow the approved version, a case already running keeps its own, and
a rollback makes the earlier version current again.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.accounts import add_user
from tests.support.product import PRODUCT_WORKFLOWS, Product
from tests.support.screenshots import Screenshots
from tests.support.studio import case_version
from tests.support.studio_browser import current_version, studio_session

PID = "certificate_individual"
BPMN, DMN = "certificate_individual.bpmn", "certificate_decision.dmn"
TIMER = ('<bpmn:timeDate>sla("registry_wait")</bpmn:timeDate>', '<bpmn:timeDate>sla("operator_review")</bpmn:timeDate>')
RENAME = ('<bpmn:userTask id="operator_review" name="Проверить заявление">',
          '<bpmn:userTask id="operator_review" name="Проверить заявление и ответы реестров">')
TYPO = ('sla("registry_wait")', 'sla("registry_wiat")')
CHANGED = {"checks_timeout", "operator_review"}
COLOURED = """els => els.filter(e => [...e.classList].some(c => c.startsWith('diff-')))
                          .map(e => e.getAttribute('data-element-id'))"""


def _draft_files(directory: Path, *edits: tuple[str, str]) -> list[Path]:
    """The product's individual process with text edits, and its decision table, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    bpmn = (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")
    for old, new in edits:
        assert bpmn.count(old) == 1, old
        bpmn = bpmn.replace(old, new)
    (directory / BPMN).write_text(bpmn, encoding="utf-8")
    (directory / DMN).write_bytes((PRODUCT_WORKFLOWS / DMN).read_bytes())
    return [directory / BPMN, directory / DMN]


def _upload(page: Page, base: str, files: list[Path]) -> int:
    page.goto(f"{base}/processes")
    page.get_by_label("Файлы BPMN и DMN").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Загрузить черновик").click()
    page.wait_for_url(re.compile(r".*/processes/drafts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_an_analyst_changes_a_process_and_another_approves_it_after_the_diff(product: Product, screenshots: Screenshots,
                                                                              tmp_path: Path) -> None:
    first, second = add_user(product.app, "analyst"), add_user(product.app, "analyst")
    reader = product.staff_token("analyst")
    old = current_version(product, reader, PID)
    citizen = product.citizen_token()
    running = product.apply(citizen, scenario="registry_disagrees")["number"]
    problems: list[str] = []

    with studio_session(product, problems) as studio:
        base = studio.base
        page = studio.analyst_page(first)

        # The individual process, drawn with its lanes.
        page.locator(f'a[href="/processes/{PID}/versions/{old}"]').first.click()
        expect(page.locator('.studio-canvas[data-viewer-ready="bpmn"]')).to_be_visible()
        for lane in ("lane_system", "lane_operator", "lane_supervisor"):
            expect(page.locator(f'.studio-canvas [data-element-id="{lane}"]')).to_be_visible()

        # A draft with an unknown SLA name: the problem is shown at its element, proposing is refused.
        bad = _upload(page, base, _draft_files(tmp_path / "bad", RENAME, TYPO))
        row = page.locator(".studio-problems tbody tr", has_text="checks_timeout")
        expect(row).to_contain_text("Реестры не ответили")
        expect(row).to_contain_text("registry_wiat")
        expect(page.locator('.studio-canvas [data-element-id="checks_timeout"]')).to_be_visible()
        expect(page.get_by_role("button", name="Предложить к развёртыванию")).to_be_disabled()

        # The fixed draft, proposed with a comment.
        good = _upload(page, base, _draft_files(tmp_path / "good", RENAME, TIMER))
        assert good != bad
        expect(page.get_by_text("проверка пройдена")).to_be_visible()
        page.get_by_label("Что изменено и зачем").fill("Ожидание реестров — один рабочий день; уточнено имя задачи")
        page.get_by_role("button", name="Предложить к развёртыванию").click()
        expect(page.get_by_text("предложен к развёртыванию").first).to_be_visible()
        expect(page.get_by_role("button", name="Одобрить и развернуть")).to_be_disabled()

        # A second analyst reviews the diff: exactly the changed elements, on the drawing and in the list.
        review = studio.analyst_page(second)
        review.locator(f'a[href="/processes/drafts/{good}"]').click()
        review.get_by_role("link", name=re.compile("Сравнить с действующей версией")).click()
        review.wait_for_url(re.compile(rf".*/processes/{PID}/diff\?from={old}&to=draft(:|%3A){good}$"))
        expect(review.locator('[data-studio-diff][data-diff-ready="true"]')).to_have_count(1)
        listed = set(review.locator("table.studio-diff-elements tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.elementId)"))
        old_side = set(review.locator('[data-diff-side="old"] [data-element-id]').evaluate_all(COLOURED))
        new_side = set(review.locator('[data-diff-side="new"] [data-element-id]').evaluate_all(COLOURED))
        assert listed == CHANGED, listed
        assert old_side == new_side == CHANGED, (old_side, new_side)
        expect(review.locator("table.studio-diff-elements")).to_contain_text('sla("operator_review")')
        screenshots.take(review, "diff-1366")
        review.go_back()
        review.get_by_role("button", name="Одобрить и развернуть").click()
        expect(review.get_by_text("Черновик развёрнут")).to_be_visible()

    new = current_version(product, reader, PID)
    assert new > old
    fresh = product.apply(citizen, index=1)["number"]
    assert case_version(product.app, fresh)[:2] == (PID, new)
    assert case_version(product.app, running) == (PID, old, False)  # still running, on its own version

    # Rollback from the earlier version's page: the next application gets it again.
    with studio_session(product, problems) as studio:
        base = studio.base
        page = studio.analyst_page(first)
        page.goto(f"{base}/processes/{PID}/versions/{old}")
        page.get_by_label(f"Да, новые заявления должны получать версию {old}").check()
        page.get_by_role("button", name="Сделать текущей").click()
        expect(page.get_by_text(f"Версия {old} стала текущей")).to_be_visible()
    assert current_version(product, reader, PID) == old
    after = product.apply(citizen, index=2)["number"]
    assert case_version(product.app, after)[:2] == (PID, old)
    assert case_version(product.app, fresh)[:2] == (PID, new)
    assert problems == [], "\n".join(problems)
