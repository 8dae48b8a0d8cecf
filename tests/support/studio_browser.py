"""Driving the studio in Chromium: the problem watch every studio page test runs under, the current version
of a process, and the BPMN modeler's editor, selection and autosave, shared by the studio browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect

from tests.support.accounts import bearer
from tests.support.browser import chromium, log_in, served
from tests.support.product import Product

DESKTOP = {"width": 1366, "height": 900}


def watch(page: Page, problems: list[str]) -> None:
    """Script errors, CSP violations and failed requests on the page fail the test."""
    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith("Failed to load resource"):
            return  # the URL is not in the message: failed responses are collected below, with their URL
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"{message.type}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):  # the product has no icon
            problems.append(f"{response.status}: {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))


@dataclass
class StudioSession:
    """The served product in one Chromium; each analyst gets a page of their own, watched for problems."""

    product: Product
    base: str
    browser: Browser
    problems: list[str]

    def analyst_page(self, email: str) -> Page:
        """A new browser context signed in as `email`, on the studio's process list."""
        page = self.browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        watch(page, self.problems)
        log_in(page, self.base, email, app=self.product.app)
        page.wait_for_url(f"{self.base}/processes")
        return page


@contextmanager
def studio_session(product: Product, problems: list[str]) -> Iterator[StudioSession]:
    with served(product) as base, chromium() as browser:
        yield StudioSession(product, base, browser, problems)


def current_version(product: Product, token: str, process_id: str) -> int:
    """The process's current version, as the JSON API lists it."""
    listed = product.client().get("/api/v1/processes", headers=bearer(token)).get_json()
    return next(p for p in listed if p["id"] == process_id)["current_version"]


def edit_version(page: Page, base: str, process_id: str, version: int, file_name: str) -> int:
    """«Редактировать» on a version's page: the draft's editor open on `file_name`, its check passed; the draft id."""
    page.goto(f"{base}/processes/{process_id}/versions/{version}")
    page.get_by_role("button", name="Редактировать").click()
    page.wait_for_url(re.compile(rf".*/processes/drafts/\d+/edit/{re.escape(file_name)}$"))
    draft = int(re.search(r"/drafts/(\d+)/", page.url).group(1))
    open_editor(page)
    expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
    return draft


def open_editor(page: Page) -> None:
    """The BPMN modeler has loaded its file."""
    expect(page.locator('[data-editor][data-editor-ready="true"]')).to_have_count(1)


def select(page: Page, element_id: str) -> None:
    """Select a diagram element the way an analyst does: a click on its shape."""
    page.locator(f'#editor-canvas .djs-element[data-element-id="{element_id}"]').first.click()
    expect(page.locator("#bio-properties-panel-id")).to_have_value(element_id)


def saved(page: Page, revision: int) -> None:
    """The autosave reached the draft's ``revision`` and says so."""
    expect(page.locator("[data-editor]")).to_have_attribute("data-revision", str(revision))
    expect(page.locator("[data-editor-status]")).to_have_text(re.compile(r"^Сохранено в \d\d:\d\d$"))
