"""An analyst opens the catalogue from the menu and sees a version drawn by bpmn-js and dmn-js, and a draft's
problem selects its element on the drawing (Chromium).

The page runs under the product's CSP (script-src 'self', style-src 'self'): any violation or script
error the viewers cause shows up on the console or as a page error, and fails the test.
"""

from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Page, Response, expect

from tasks.config import engine_settings
from tests.support.accounts import add_user
from tests.support.browser import PHONE, chromium, fits_the_screen, log_in, served
from tests.support.product import PRODUCT_WORKFLOWS, Product
from tests.support.screenshots import Screenshots
from tests.support.studio import DECISION_NAME, TASK_NAME, deploy_studio_process

DESKTOP = {"width": 1366, "height": 900}


def _text_of(page: Page, element_id: str) -> str:
    """The label bpmn-js drew for an element (its lines joined, as the SVG splits long labels)."""
    return page.locator(f'.studio-canvas [data-element-id="{element_id}"] text').first.evaluate(
        "text => Array.from(text.querySelectorAll('tspan')).map(t => t.textContent).join(' ')")


def test_an_analyst_sees_a_version_drawn_without_breaking_the_csp(product: Product, screenshots: Screenshots,
                                                                  tmp_path) -> None:
    demo = deploy_studio_process(engine_settings(product.env), tmp_path)
    email = add_user(product.app, "analyst")
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith("Failed to load resource"):
            return  # the URL is not in the message: failed responses are collected below, with their URL
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"{message.type}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):  # the product has no icon
            problems.append(f"{response.status}: {response.url}")

    with served(product) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
        log_in(page, base, email, app=product.app)
        page.wait_for_url(f"{base}/processes")
        page.locator(".site-nav").get_by_role("link", name="Процессы", exact=True).click()
        page.wait_for_url(f"{base}/processes")
        page.get_by_role("link", name=f"{demo.name}, версия 1").click()
        page.wait_for_url(f"{base}/processes/{demo.process_id}/versions/1")

        canvas = page.locator('.studio-canvas[data-viewer-ready="bpmn"]')
        expect(canvas).to_be_visible()
        assert canvas.locator("svg").count() >= 1
        assert re.sub(r"\s+", "", _text_of(page, "review")) == re.sub(r"\s+", "", TASK_NAME)
        for lane, name in (("lane_operator", "Оператор"), ("lane_system", "Система")):
            shape = page.locator(f'.studio-canvas [data-element-id="{lane}"]')
            expect(shape).to_be_visible()
            assert (shape.bounding_box() or {}).get("width", 0) > 200, lane
            assert _text_of(page, lane) == name
        expect(page.locator(".studio-canvas .bjs-powered-by")).to_be_visible()  # the bpmn.io watermark stays
        expect(page.locator(".studio-canvas__fallback")).to_have_count(0)
        screenshots.take(page, "bpmn-1366")

        page.locator(".studio-files").get_by_role("link", name=demo.dmn_file, exact=True).click()
        page.wait_for_url(re.compile(r".*\?file="))
        table = page.locator('.studio-canvas[data-viewer-ready="dmn"] .tjs-table')
        expect(table).to_be_visible()
        expect(page.locator(".studio-canvas .decision-table-name")).to_have_text(DECISION_NAME)
        expect(table).to_contain_text('"срочное"')
        expect(table.locator("tbody tr")).to_have_count(2)
        screenshots.take(page, "dmn-1366")

        # dmn-js's watermark is markup with style attributes: the page allows exactly those (by hash).
        logo = page.locator(".studio-canvas .bjs-powered-by")
        expect(logo).to_be_visible()
        assert logo.evaluate("a => getComputedStyle(a).position") == "absolute"
        logo.click()
        lightbox = page.locator(".bjs-powered-by-lightbox")
        expect(lightbox).to_be_visible()
        assert lightbox.evaluate("box => getComputedStyle(box).position") == "fixed"
        lightbox.locator(".backdrop").click(position={"x": 5, "y": 5})
        expect(lightbox).to_have_count(0)

        page.set_viewport_size(PHONE)  # a phone: no sideways scrolling of the page, the canvas still draws
        for url in (page.url, f"{base}/processes/{demo.process_id}/versions/1"):
            page.goto(url)
            expect(page.locator(".studio-canvas[data-viewer-ready]")).to_be_visible()
            assert fits_the_screen(page), url
        screenshots.take(page, "bpmn-390")
    assert problems == [], "\n".join(problems)


def test_a_problem_in_a_draft_selects_its_element_on_the_diagram(product: Product, tmp_path) -> None:
    """The product's individual process with a typo in an SLA name: the problem is listed at the timer it
    belongs to, that timer is marked on the drawing, and following the problem's link selects it."""
    source = (PRODUCT_WORKFLOWS / "certificate_individual.bpmn").read_text(encoding="utf-8")
    assert 'sla("registry_wait")' in source
    draft = tmp_path / "certificate_individual.bpmn"
    draft.write_text(source.replace('sla("registry_wait")', 'sla("registry_wiat")'), encoding="utf-8")
    email = add_user(product.app, "analyst")
    errors: list[str] = []
    with served(product) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
        log_in(page, base, email, app=product.app)
        page.wait_for_url(f"{base}/processes")
        page.get_by_label("Файлы BPMN и DMN").set_input_files(str(draft))
        page.get_by_role("button", name="Загрузить черновик").click()
        page.wait_for_url(re.compile(r".*/processes/drafts/\d+$"))

        problem = page.locator(".studio-problems tr", has_text="registry_wiat")
        expect(problem).to_have_count(1)
        expect(problem).to_contain_text("Реестры не ответили")
        canvas = page.locator('.studio-canvas[data-viewer-ready="bpmn"]')
        expect(canvas).to_be_visible()
        element = canvas.locator('.djs-element[data-element-id="checks_timeout"]')
        expect(element).to_have_class(re.compile(r"\bstudio-problem\b"))
        expect(element).not_to_have_class(re.compile(r"\bselected\b"))
        problem.get_by_role("link", name="checks_timeout").click()
        expect(element).to_have_class(re.compile(r"\bselected\b"))
        expect(canvas.locator(".djs-element.selected")).to_have_count(1)
        assert element.evaluate("e => { const r = e.getBoundingClientRect(), c = e.closest('.studio-canvas')"
                                ".getBoundingClientRect(); return r.left >= c.left && r.right <= c.right "
                                "&& r.top >= c.top && r.bottom <= c.bottom; }"), "scrolled into view"
    assert errors == []
