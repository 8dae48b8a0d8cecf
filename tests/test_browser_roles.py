"""Every role signs in, lands on its own work and reaches it from the menu in one click (Chromium).

Desktop (1366 px): the header is one line and the menu shows exactly the role's entries, the current
one marked. Phone (390 px): the header stays compact, the menu folds out of «Меню» (no script needed),
and its links and the wizard's step links are at least 44 px tall. Screenshots of each role's main pages
at both widths go to the test output (tests/support/screenshots.py).
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tasks.accounts.roles import ROLES
from tests.support.accounts import PASSWORD, add_user, fresh_otp
from tests.support.browser import PHONE, chromium, fits_the_screen, served
from tests.support.product import Product
from tests.support.registry import demo_person
from tests.support.screenshots import Screenshots
from tests.test_portal_pages import step_data
from web.navigation import menu_for

DESKTOP = {"width": 1366, "height": 768}
MIN_TARGET = 44
# Where each role lands after login, and the menu entry that is its work (one click from anywhere).
LANDING = {"citizen": "/", "operator": "/inbox", "appeals": "/inbox", "support": "/inbox", "supervisor": "/dashboard",
           "analyst": "/processes", "admin": "/dashboard"}
WORK = {"citizen": ("Мои заявки", "/applications"), "operator": ("Задачи", "/inbox"),
        "appeals": ("Задачи", "/inbox"), "support": ("Задачи", "/inbox"), "supervisor": ("Задачи", "/inbox"),
        "analyst": ("Процессы", "/processes"), "admin": ("Задачи", "/inbox")}
CITIZEN_ONLY = ("Подать заявление", "Мои заявки")


def _sign_in(page: Page, base: str, product: Product, email: str, staff: bool) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    if staff:
        page.wait_for_url("**/login/code")
        page.locator("input[name=otp]").fill(fresh_otp(product.app, email))
        page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state("load")


def _menu_labels(page: Page) -> list[str]:
    """The entries' names (without a count badge such as «2 непрочитанных»)."""
    return page.locator(".site-nav a").evaluate_all("links => links.map(a => a.firstChild.textContent.trim())")


def _header_is_one_line(page: Page) -> None:
    """The brand, every menu entry and «Выйти» side by side: one row of the header's height."""
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 64, header
    items = page.locator(".site-header__brand, .site-nav a, .user-menu a, .user-menu button")
    boxes = [items.nth(i).bounding_box() for i in range(items.count())]
    middles = {round(box["y"] + box["height"] / 2) for box in boxes if box is not None}
    assert max(middles) - min(middles) <= 4, middles


def _phone_header(page: Page) -> None:
    """Folded, the header is short; unfolded, every item is a 44 px target; no sideways scrolling."""
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 100, header
    expect(page.locator(".site-nav")).to_be_hidden()
    page.locator(".site-menu > summary").click()
    items = page.locator(".site-nav a, .user-menu a, .user-menu button")
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box is not None and box["height"] >= MIN_TARGET, (items.nth(i).inner_text(), box)
    assert fits_the_screen(page)


def _citizen_case(product: Product, email: str) -> str:
    person = demo_person("valid")["person"]
    token = product.citizen_token(email, last_name=person["last_name"], first_name=person["first_name"],
                                  middle_name=person.get("middle_name"), birth_date=person["birth_date"])
    number = product.apply(token)["number"]
    product.wait_status(token, number, "ready")
    return number


def test_each_role_lands_on_its_work_and_reaches_it_from_the_menu(product: Product, screenshots: Screenshots) -> None:
    emails = {role: add_user(product.app, role) for role in ROLES if role != "citizen"}
    emails["citizen"] = "roles-citizen@example.ru"
    number = _citizen_case(product, emails["citizen"])

    with served(product) as base, chromium() as browser:
        for role in ROLES:
            context = browser.new_context(viewport=DESKTOP, locale="ru-RU")
            page = context.new_page()
            _sign_in(page, base, product, emails[role], staff=role != "citizen")
            assert page.url == base + LANDING[role], (role, page.url)
            labels = _menu_labels(page)
            assert labels == [e.label for e in menu_for(role)], (role, labels)
            if role != "citizen":
                assert not set(CITIZEN_ONLY) & set(labels), (role, labels)
            _header_is_one_line(page)
            assert fits_the_screen(page)
            screenshots.take(page, f"{role}-landing-1366")

            label, path = WORK[role]
            page.locator(".site-nav").get_by_role("link", name=label, exact=True).click()
            page.wait_for_url(base + path)
            expect(page.locator('.site-nav a[aria-current="page"]')).to_have_text(label)
            screenshots.take(page, f"{role}-work-1366")
            if role == "citizen":
                page.goto(f"{base}/applications/{number}")
                expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("Мои заявки")
                screenshots.take(page, "citizen-case-1366")

            page.set_viewport_size(PHONE)
            page.goto(base + LANDING[role])
            _phone_header(page)
            screenshots.take(page, f"{role}-menu-390")
            page.locator(".site-nav").get_by_role("link", name=label, exact=True).click()
            page.wait_for_url(base + path)
            screenshots.take(page, f"{role}-work-390")
            if role == "citizen":
                page.goto(f"{base}/applications/{number}")
                screenshots.take(page, "citizen-case-390")
                _wizard_step_links(page, base, screenshots)
            context.close()


def _wizard_step_links(page: Page, base: str, screenshots: Screenshots) -> None:
    """With the first step saved, the second step links back to it: a 44 px target on a phone."""
    page.goto(f"{base}/apply/personal")
    token = page.locator("input[name=csrf_token]").first.input_value()
    saved = page.request.post(f"{base}/apply/personal", form={**step_data()["personal"], "csrf_token": token},
                              max_redirects=0)
    assert saved.status == 302, saved.text()[:2000]
    page.goto(f"{base}/apply/passport")
    link = page.locator(".steps a").first
    box = link.bounding_box()
    assert box is not None and box["height"] >= MIN_TARGET, box
    screenshots.take(page, "citizen-wizard-390")
