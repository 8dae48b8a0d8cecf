"""An analyst changes a decision rule in the DMN editor, it is saved and still there after a reload, and the
draft page's impact preview lists the decided cases the change would move; a save made on a revision someone
else has saved over is refused with their name (Chromium).

The editor runs under the product's CSP (script-src 'self', style-src 'self' plus the dmn-js watermark's
hashes): any violation or script error shows up on the console or as a page error, and fails the test.
"""

from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select

from tasks.config import engine_settings
from tasks.studio.models import ProcessDraft
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp
from tests.support.browser import chromium, log_in, served
from tests.support.impact import decide_cases, deploy_impact_process
from tests.support.product import Product
from web.extensions import db

DESKTOP = {"width": 1366, "height": 900}


def _token(product: Product, email: str) -> str:
    return client_from(product.app).post("/api/v1/auth/token", json={
        "email": email, "password": PASSWORD, "otp": fresh_otp(product.app, email)}).get_json()["token"]


def _draft(product: Product, email: str, files: dict[str, str]) -> int:
    r = client_from(product.app).post("/api/v1/processes/drafts", headers=bearer(_token(product, email)),
                                      json={"files": files})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["draft_id"]


def _saved_file(product: Product, draft_id: int, name: str) -> str:
    with product.app.app_context():
        files = db.session.scalar(select(ProcessDraft.files).where(ProcessDraft.id == draft_id))
        db.session.commit()
    return files[name]


def _score_cell(page: Page, rule: str):
    return page.locator(f'.dmn-editor td[data-element-id="{rule}_score"]')


def test_an_analyst_edits_a_rule_and_sees_the_cases_it_would_change(product: Product, tmp_path) -> None:
    process = deploy_impact_process(engine_settings(product.env), tmp_path)
    cases = decide_cases(product.app, process)
    email = add_user(product.app, "analyst")
    draft_id = _draft(product, email, {process.dmn_file: process.dmn()})
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith("Failed to load resource"):
            return  # the URL is not in the message: failed responses are collected below, with their URL
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"{message.type}: {message.text}")

    with served(product) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        page.on("console", on_console)
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 and not (
            r.url.endswith("/favicon.ico") or (r.status == 409 and "/files/" in r.url)) else None)  # 409: below
        page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
        log_in(page, base, email, app=product.app)
        page.wait_for_url(f"{base}/processes")
        page.goto(f"{base}/processes/drafts/{draft_id}")
        expect(page.locator("[data-impact-summary]")).to_have_text(
            f"заявлений — {len(cases)}, решение изменилось бы у 0")
        page.get_by_role("link", name=f"Редактировать {process.dmn_file}").click()
        page.wait_for_url(re.compile(r".*/edit/.*\.dmn$"))
        editor = page.locator("[data-dmn-editor][data-editor-ready]")
        expect(editor).to_be_visible()
        expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
        cell = _score_cell(page, "r_high")
        expect(cell).to_have_text(">= 70")

        cell.locator("[contenteditable]").click()
        page.keyboard.press("End")
        page.keyboard.press("Backspace")
        page.keyboard.type("5")
        page.locator("h1").click()  # leave the cell: the edit is committed
        expect(editor).to_have_attribute("data-revision", re.compile(r"^(?!1$)\d+$"))
        expect(page.locator("[data-editor-status]")).to_contain_text("Сохранено")
        expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
        assert "&gt;= 75" in _saved_file(product, draft_id, process.dmn_file)

        page.reload()
        expect(page.locator("[data-dmn-editor][data-editor-ready]")).to_be_visible()
        expect(_score_cell(page, "r_high")).to_have_text(">= 75")

        page.get_by_role("link", name=f"Черновик №\u00a0{draft_id}").first.click()
        page.wait_for_url(f"{base}/processes/drafts/{draft_id}")
        moved = sorted(n for n, data in cases.items() if data["score"] == 72)
        expect(page.locator("[data-impact-summary]")).to_have_text(
            f"заявлений — {len(cases)}, решение изменилось бы у {len(moved)}")
        changed = page.locator(".studio-impact__changed")
        for number in moved:
            link = changed.get_by_role("link", name=number).first
            expect(link).to_have_attribute("href", f"/staff/cases/{number}/journal")
        expect(changed).to_contain_text("Высокий балл")
        expect(changed).to_contain_text("Средний балл")
        expect(changed).to_contain_text("На проверке")

        # Someone else saves the file while the editor is open: the next save is refused, nothing is
        # overwritten, and the page says who saved.
        page.goto(f"{base}/processes/drafts/{draft_id}/edit/{process.dmn_file}")
        editor = page.locator("[data-dmn-editor][data-editor-ready]")
        expect(editor).to_be_visible()
        other = add_user(product.app, "analyst")
        revision = int(editor.get_attribute("data-revision"))
        theirs = _saved_file(product, draft_id, process.dmn_file).replace("&gt;= 40", "&gt;= 41", 1)
        saved = client_from(product.app).put(
            f"/api/v1/processes/drafts/{draft_id}/files/{process.dmn_file}", headers=bearer(_token(product, other)),
            json={"xml": theirs, "revision": revision})
        assert saved.status_code == 200, saved.get_json()
        _score_cell(page, "r_mid").locator("[contenteditable]").click()
        page.keyboard.press("End")
        page.keyboard.type("0")
        page.locator("h1").click()
        conflict = page.locator("[data-editor-conflict]")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text(other)
        assert _saved_file(product, draft_id, process.dmn_file) == theirs
    assert problems == [], "\n".join(problems)
