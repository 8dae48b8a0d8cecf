"""The analysts' whole edit flow in Chromium on the product's own individual process, against the whole product.

An analyst opens certificate_individual with «Редактировать», moves the operator's review timer to another SLA
of the catalogue with the properties panel, breaks a service task's operator name (the validation marks the
task) and fixes it, changes a rule of certificate_decision.dmn in the decision table editor, reloads both
editors (nothing lost) and proposes. A second analyst sees on the review page the impact preview list the case
decided before the change, from the old note to the new one, and approves. A new application of a demo
registry person whose data need an operator's check then follows the approved version: the changed rule's
note is the case's verdict, and the operator's task is due after the new SLA (30 days instead of one
business day).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from engine.clock import aware
from tests.support.accounts import add_user, bearer
from tests.support.product import Product
from tests.support.studio import case_version
from tests.support.studio_browser import current_version, edit_version, open_editor, saved, select, studio_session

PID = "certificate_individual"
BPMN, DMN = "certificate_individual.bpmn", "certificate_decision.dmn"
SCENARIO = "yo_spelling"  # the registries spell the name with «ё»: rule_12 sends the case to an operator
OLD_NOTE = "Данные паспорта совпадают не полностью (например, «ё» и «е» в ФИО): нужна проверка оператором."
ADDED = " Сверьте ФИО по буквам."
NEW_NOTE = OLD_NOTE + ADDED
NEW_SLA = "info_wait"  # P30D in sla.toml; the review timer's own SLA is operator_review, one business day


def _verdict_and_due(product: Product, operator: str, number: str) -> tuple[dict[str, Any], datetime]:
    """The case's verdict as the operator's case screen gives it, and when the operator's review is due."""
    task = product.wait_task(operator, number, "operator_review")
    screen = product.client().get(f"/api/v1/tasks/{task['id']}", headers=bearer(operator))
    assert screen.status_code == 200, screen.get_json()
    return screen.get_json()["verdict"], aware(datetime.fromisoformat(task["due_at"]))


def _note_cell(page: Page):
    return page.locator('.dmn-editor td[data-element-id="rule_12_note"]')


def _edit_process(page: Page, base: str, version: int) -> int:
    """«Редактировать» on the current version; the timer moved, a broken operator name marked and fixed."""
    draft = edit_version(page, base, PID, version, BPMN)

    select(page, "operator_review_sla")
    page.get_by_label("Срок (SLA)").select_option(NEW_SLA)
    saved(page, 2)

    select(page, "check_passport")
    page.get_by_label("Имя оператора").fill("registry.check_pasport")
    page.get_by_label("Имя оператора").press("Tab")
    saved(page, 3)
    expect(page.locator(".studio-problems tbody tr", has_text="check_passport")).to_contain_text(
        "registry.check_pasport")
    expect(page.locator('#editor-canvas .djs-element.studio-problem[data-element-id="check_passport"]')) \
        .to_have_count(1)
    page.get_by_label("Оператор", exact=True).select_option("registry.check_passport")
    saved(page, 4)
    expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
    expect(page.locator("#editor-canvas .studio-problem")).to_have_count(0)

    page.reload()  # nothing lost
    open_editor(page)
    select(page, "operator_review_sla")
    expect(page.get_by_label("Срок (SLA)")).to_have_value(NEW_SLA)
    select(page, "check_passport")
    expect(page.get_by_label("Оператор", exact=True)).to_have_value("registry.check_passport")
    return draft


def _edit_rule(page: Page, base: str, draft: int) -> None:
    """The operator-check rule's note gets a sentence in the decision table editor; a reload keeps it."""
    page.goto(f"{base}/processes/drafts/{draft}")
    page.get_by_role("link", name=f"Редактировать {DMN} в браузере").click()
    page.wait_for_url(re.compile(rf".*/processes/drafts/{draft}/edit/.*$"))
    editor = page.locator("[data-dmn-editor][data-editor-ready]")
    expect(editor).to_be_visible()
    revision = int(editor.get_attribute("data-revision"))
    expect(_note_cell(page)).to_have_text(f'"{OLD_NOTE}"')
    _note_cell(page).locator("[contenteditable]").click()
    page.keyboard.press("Control+A")  # the cell's text only: the cell is the focused editable
    page.keyboard.type(f'"{NEW_NOTE}"')
    page.locator("h1").click()  # leave the cell: the edit is committed
    expect(editor).to_have_attribute("data-revision", str(revision + 1))
    expect(page.locator("[data-editor-status]")).to_contain_text("Сохранено")
    expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")

    page.reload()  # nothing lost
    expect(page.locator("[data-dmn-editor][data-editor-ready]")).to_be_visible()
    expect(_note_cell(page)).to_have_text(f'"{NEW_NOTE}"')


def test_an_edited_process_and_rule_reach_a_new_application_after_review(product: Product) -> None:
    analyst, reviewer = add_user(product.app, "analyst"), add_user(product.app, "analyst")
    reader, operator = product.staff_token("analyst"), product.staff_token("operator")
    old = current_version(product, reader, PID)
    citizen = product.citizen_token()
    decided = product.apply(citizen, scenario=SCENARIO)["number"]  # decided by the old rule, before the edit
    verdict, due = _verdict_and_due(product, operator, decided)
    assert (verdict["outcome"], verdict["note"]) == ("review", OLD_NOTE)
    assert due < datetime.now(UTC) + timedelta(days=15)  # one business day, whatever holidays follow
    problems: list[str] = []

    with studio_session(product, problems) as studio:
        base = studio.base
        page = studio.analyst_page(analyst)
        draft = _edit_process(page, base, old)
        _edit_rule(page, base, draft)

        page.goto(f"{base}/processes/drafts/{draft}")
        expect(page.get_by_text("проверка пройдена")).to_be_visible()
        page.get_by_label("Что изменено и зачем").fill(
            "Проверка оператора — в пределах срока ответа; пояснение о «ё» уточнено")
        page.get_by_role("button", name="Предложить к развёртыванию").click()
        expect(page.get_by_text("предложен к развёртыванию").first).to_be_visible()

        # The reviewer sees which decided cases the rule change would move, and approves.
        review = studio.analyst_page(reviewer)
        review.locator(f'a[href="/processes/drafts/{draft}"]').click()
        review.wait_for_url(f"{base}/processes/drafts/{draft}")
        expect(review.locator("[data-impact-summary]")).to_contain_text("решение изменилось бы у")
        moved = review.locator(f'.studio-impact__changed tr[data-impact-case="{decided}"]')
        expect(moved).to_have_count(1)
        expect(moved).to_contain_text(OLD_NOTE)
        expect(moved).to_contain_text(NEW_NOTE)
        expect(moved.get_by_role("link", name=decided)).to_have_attribute(
            "href", f"/staff/cases/{decided}/journal")
        review.get_by_role("button", name="Одобрить и развернуть").click()
        expect(review.get_by_text("Черновик развёрнут")).to_be_visible()
    assert problems == [], "\n".join(problems)

    new = current_version(product, reader, PID)
    assert new > old
    fresh = product.apply(citizen, scenario=SCENARIO, index=1)["number"]
    assert case_version(product.app, fresh)[:2] == (PID, new)
    verdict, due = _verdict_and_due(product, operator, fresh)
    assert (verdict["outcome"], verdict["note"]) == ("review", NEW_NOTE)
    assert due > datetime.now(UTC) + timedelta(days=29)  # info_wait, P30D
    assert case_version(product.app, decided)[:2] == (PID, old)  # the earlier case keeps its version
