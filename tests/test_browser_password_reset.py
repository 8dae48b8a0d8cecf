"""«Забыли пароль?» in headless Chromium: from the login page to a new password, with the code from the
real SMTP server; a browser that was logged in before the reset finds itself logged out. An address with
no account gets the very same page (only the address it typed differs), so the page never tells whether
an account exists; whether the time taken tells is measured by benchmarks/enumeration.py.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tasks.accounts.passwords import COMMON
from tests.support.accounts import add_user, unique_email
from tests.support.browser import PHONE, log_in, phone_browser
from tests.support.product import Product
from tests.support.smtp import activation_code

NEW_PASSWORD = "Новый-надёжный-пароль-8"


def ask_for_a_code(page: Page, base: str, address: str) -> str:
    """Ask for a reset code from the login page's link; the answer page's text with the address masked."""
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Забыли пароль?").click()
    page.get_by_label("Электронная почта").fill(address)
    page.get_by_role("button", name="Получить код").click()
    page.wait_for_url("**/password-reset/confirm")
    expect(page.get_by_label("Электронная почта")).to_have_value(address)
    return page.locator("main").inner_text().replace(address, "<адрес>")


def test_password_reset_in_the_browser(product: Product) -> None:
    email = add_user(product.app, "citizen")
    with phone_browser(product) as (base, page):
        other = page.context.browser.new_context(viewport=PHONE, locale="ru-RU").new_page()
        log_in(other, base, email)  # another device, logged in before the reset
        other.goto(f"{base}/applications")
        expect(other.get_by_role("heading", level=1)).to_contain_text("Мои заявки")

        stranger = unique_email("stranger")
        unknown = ask_for_a_code(page, base, stranger)
        note = product.smtp.wait_for_mail(stranger, subject="Сброс пароля")
        assert "учётной записи с таким адресом нет" in note.text
        known = ask_for_a_code(page, base, email)
        assert known == unknown  # word for word, but for the address typed
        expect(page.locator("body")).to_contain_text(f"Мы отправили письмо на адрес {email}")
        expect(page.get_by_label("Электронная почта")).to_have_value(email)
        code = activation_code(product.smtp.wait_for_mail(email, subject="Сброс пароля"))

        page.get_by_label("Код из письма").fill(code)
        page.get_by_label("Новый пароль").fill("qwertyuiop")
        page.get_by_role("button", name="Сохранить пароль").click()
        expect(page.locator("#f-password-error")).to_contain_text(COMMON)  # next to the field
        page.get_by_label("Код из письма").fill(code)
        page.get_by_label("Новый пароль").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Сохранить пароль").click()
        page.wait_for_url("**/login")
        expect(page.locator("body")).to_contain_text("Пароль изменён")

        page.get_by_label("Электронная почта").fill(email)
        page.get_by_label("Пароль").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.goto(f"{base}/applications")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Мои заявки")

        other.goto(f"{base}/applications")  # the device logged in before the reset is logged out
        expect(other).to_have_url(f"{base}/login?next=/applications")
