"""The BPMN modeler in Chromium, against the whole product: «Редактировать» on the individual process, the
SpiffWorkflow properties panel, autosave, live validation, and a second analyst's stale save.

The page runs under the product's CSP (script-src 'self'): a violation, a script error or a failed request
fails the test, as on the other studio pages.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.accounts import add_user, bearer
from tests.support.product import Product
from tests.support.screenshots import Screenshots
from tests.support.studio_browser import current_version, edit_version, open_editor, saved, select, studio_session

PID = "certificate_individual"
BPMN = "certificate_individual.bpmn"


def _saved_xml(product: Product, token: str, draft: int) -> str:
    r = product.client().get(f"/api/v1/processes/drafts/{draft}/files/{BPMN}", headers=bearer(token))
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_an_analyst_edits_the_process_in_the_browser_and_a_stale_save_is_refused(product: Product,
                                                                                screenshots: Screenshots) -> None:
    first, second = add_user(product.app, "analyst"), add_user(product.app, "analyst")
    reader = product.staff_token("analyst")
    version = current_version(product, reader, PID)
    problems: list[str] = []

    with studio_session(product, problems) as studio:
        base = studio.base
        page = studio.analyst_page(first)
        draft = edit_version(page, base, PID, version, BPMN)

        # The second analyst opens the same draft now, on its first revision.
        other = studio.analyst_page(second)
        other.goto(page.url)
        open_editor(other)

        # The registries' timeout moves to another SLA, picked from the catalogue in the panel.
        select(page, "checks_timeout")
        sla = page.get_by_label("Срок (SLA)")
        expect(sla).to_have_value("registry_wait")
        sla.select_option("operator_review")
        saved(page, 2)
        assert 'sla("operator_review")' in _saved_xml(product, reader, draft)
        screenshots.take(page, "modeler-1366")

        # Reloaded, nothing is lost.
        page.reload()
        open_editor(page)
        select(page, "checks_timeout")
        expect(page.get_by_label("Срок (SLA)")).to_have_value("operator_review")

        # A broken operator name: the validation marks the task and lists it; picking the right one fixes it.
        select(page, "check_passport")
        page.get_by_label("Имя оператора").fill("registry.check_pasport")
        page.get_by_label("Имя оператора").press("Tab")
        saved(page, 3)
        row = page.locator(".studio-problems tbody tr", has_text="check_passport")
        expect(row).to_contain_text("registry.check_pasport")
        expect(page.locator('#editor-canvas .djs-element.studio-problem[data-element-id="check_passport"]')) \
            .to_have_count(1)
        page.get_by_label("Оператор", exact=True).select_option("registry.check_passport")
        saved(page, 4)
        expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
        expect(page.locator("#editor-canvas .studio-problem")).to_have_count(0)
        stored = _saved_xml(product, reader, draft)
        assert 'id="registry.check_passport"' in stored and "check_pasport" not in stored

        # The second analyst's edit was made on the old revision: refused, with who saved and an offer to reload.
        select(other, "checks_timeout")
        other.get_by_label("Срок (SLA)").select_option("info_wait")
        conflict = other.locator("[data-editor-conflict]")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text(first)
        expect(conflict).to_contain_text("не сохранены")
        assert _saved_xml(product, reader, draft) == stored
        other.get_by_role("button", name="Загрузить заново").click()
        open_editor(other)
        select(other, "checks_timeout")
        expect(other.get_by_label("Срок (SLA)")).to_have_value("operator_review")

        # Propose from the draft page.
        page.get_by_role("link", name="Перейти к черновику").click()
        page.wait_for_url(f"{base}/processes/drafts/{draft}")
        expect(page.get_by_text("проверка пройдена")).to_be_visible()
        page.get_by_label("Что изменено и зачем").fill("Ожидание реестров — один рабочий день")
        page.get_by_role("button", name="Предложить к развёртыванию").click()
        expect(page.get_by_text("предложен к развёртыванию").first).to_be_visible()
    refused = [p for p in problems if re.match(rf"409: {re.escape(base)}/api/v1/processes/drafts/\d+/files/", p)]
    assert len(refused) == 1, problems  # the stale save, answered 409 on purpose
    assert [p for p in problems if p not in refused] == [], "\n".join(problems)
