"""Headless Chromium for the browser tests: the product over real HTTP and a phone-sized page.

One place for the launch flags and for the single relaunch when a renderer dies on its very first
navigation, so every browser test runs Chromium the same way.

Each test process keeps one Playwright driver and one Chromium (`chromium()`), as pytest-playwright
does: a launch costs about 0.9 s of CPU (the Node driver and the browser's start), and the suite's
browser tests launched it some thirty times. A test still starts from nothing: it opens browser
contexts of its own (cookies, storage, viewport), and `chromium()` closes every context after it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from tests.support.accounts import PASSWORD, fresh_otp
from tests.support.product import Product

CHROMIUM = "/usr/bin/chromium"
# --disable-dev-shm-usage: the renderer's shared memory in /tmp rather than /dev/shm, whose size
# containers limit (a renderer that runs out of it dies and the page is "closed" mid-navigation).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
READY_TIMEOUT = 120.0


@contextmanager
def served(product: Product) -> Iterator[str]:
    """The product's app behind a real HTTP server on a free 127.0.0.1 port."""
    with served_app(product.app) as base:
        yield base


@contextmanager
def served_app(app: Flask) -> Iterator[str]:
    """An app (without the product's workers) behind a real HTTP server on a free 127.0.0.1 port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _Chromium:
    """The test process's Playwright driver and Chromium, started on first use."""

    playwright: Playwright | None = None
    browser: Browser | None = None

    @classmethod
    def get(cls) -> Browser:
        if cls.playwright is None:
            cls.playwright = sync_playwright().start()
        if cls.browser is None or not cls.browser.is_connected():
            cls.browser = cls.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return cls.browser

    @classmethod
    def relaunch(cls) -> None:
        """The next `get` starts a fresh Chromium."""
        if cls.browser is not None:
            with contextlib.suppress(PlaywrightError):
                cls.browser.close()
            cls.browser = None

    @classmethod
    def stop(cls) -> None:
        cls.relaunch()
        if cls.playwright is not None:
            cls.playwright.stop()
            cls.playwright = None


def stop_chromium() -> None:
    """At the end of the test session (tests/conftest.py): Chromium and the Playwright driver exit."""
    _Chromium.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    """The process's Chromium for one test; the contexts (and so the pages) the test opened are closed after it."""
    browser = _Chromium.get()
    try:
        yield browser
    finally:
        for context in list((_Chromium.browser or browser).contexts):
            with contextlib.suppress(PlaywrightError):
                context.close()


def open_page(browser: Browser, base: str) -> Page:
    """A phone-sized page in a new context of `browser` that has loaded the home page once.

    A renderer that dies on its very first navigation (seen once in a loaded CI run, before any of
    our pages' scripts ran) says nothing about the product: that one case gets a fresh browser.
    Any later failure fails the test.
    """
    for attempt in (1, 2):
        page = browser.new_context(viewport=PHONE, accept_downloads=True, locale="ru-RU").new_page()
        try:
            page.goto(f"{base}/")
            return page
        except PlaywrightError as exc:
            if attempt == 2 or "has been closed" not in str(exc):
                raise
            _Chromium.relaunch()
            browser = _Chromium.get()
    raise AssertionError("unreachable")


@contextmanager
def phone_browser(product: Product) -> Iterator[tuple[str, Page]]:
    """(base URL, page): the product served over HTTP and a phone-sized Chromium page; closed afterwards."""
    with served(product) as base, chromium() as browser:
        yield base, open_page(browser, base)


def log_in(page: Page, base: str, email: str, next_path: str | None = None, app: Flask | None = None) -> None:
    """Fill the login form with the test password; staff (pass the app) then get a fresh TOTP code."""
    page.goto(f"{base}/login?next={next_path}" if next_path else f"{base}/login")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    if app is not None:
        page.wait_for_url("**/login/code**")
        page.locator("input[name=otp]").fill(fresh_otp(app, email))
        page.get_by_role("button", name="Войти").click()


class ScreenFit:
    """Whether a page fits its viewport: false when it does not, and then its repr names what reaches past
    the edge, so `assert fits_the_screen(page)` says why it failed."""

    def __init__(self, wide: list[str]) -> None:
        self.wide = wide

    def __bool__(self) -> bool:
        return not self.wide

    def __repr__(self) -> str:
        return "fits" if not self.wide else f"too wide: {self.wide}"


def fits_the_screen(page: Page) -> ScreenFit:
    """No sideways scrolling on a phone: the page is no wider than the viewport."""
    return ScreenFit(wider_than_the_screen(page))


def wider_than_the_screen(page: Page) -> list[str]:
    """The innermost elements reaching past the viewport's right edge (tag, class, some text), leaving out
    what a scrolling box holds: empty when the page fits, else what a failure message should name.

    Measured once the page has loaded: a locator finds elements as soon as they are parsed, while the
    stylesheet may still be on its way (each navigation revalidates it), and a page laid out without it
    has, for one, every select as wide as its longest option (seen once in a loaded CI run).
    """
    page.wait_for_load_state("load")
    return page.evaluate("""() => {
        const width = window.innerWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        const clipped = e => {  // inside a box that scrolls or clips (an absolutely placed element may escape it)
            if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return false;
            for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
        const wide = [...document.querySelectorAll('body *')].filter(
            e => e.getBoundingClientRect().right > width + 1 && !clipped(e));
        const named = wide.filter(e => !wide.some(o => o !== e && e.contains(o))).slice(0, 10).map(e =>
            `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} `
            + `${Math.round(e.getBoundingClientRect().right)}px: ${(e.innerText || e.value || '').slice(0, 80)}`);
        // Text running out of its box moves no box edge: name the boxes whose content is wider than they are.
        const spilling = [...document.querySelectorAll('body *')].filter(e => e.scrollWidth > e.clientWidth + 1
            && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0).slice(0, 5).map(e =>
            `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} `
            + `content ${e.scrollWidth}px in ${e.clientWidth}px`);
        return named.length ? named : [`the page, ${document.documentElement.scrollWidth}px`, ...spilling];
    }""")


def wait_until_ready(page: Page) -> None:
    """Reload the case page until its status reads «Готово к скачиванию» (READY_TIMEOUT at most)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while "Готово к скачиванию" not in page.locator(".case-status").inner_text():
        assert time.monotonic() < deadline, f"still «{page.locator('.case-status').inner_text()}»"
        time.sleep(1)
        page.reload()
