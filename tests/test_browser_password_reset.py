"""«Забыли пароль?» in headless Chromium: from the login page to a new password, with the code from the
real SMTP server; a browser that was logged in before the reset finds itself logged out.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tasks.accounts.passwords import COMMON
from tests.support.accounts import add_user
from tests.support.browser import PHONE, log_in, phone_browser
from tests.support.product import Product
from tests.support.smtp import activation_code

NEW_PASSWORD = "Новый-надёжный-пароль-8"


def test_password_reset_in_the_browser(product: Product) -> None:
    email = add_user(product.app, "citizen")
    with phone_browser(product) as (base, page):
        other = page.context.browser.new_context(viewport=PHONE, locale="ru-RU").new_page()
        log_in(other, base, email)  # another device, logged in before the reset
        other.goto(f"{base}/applications")
        expect(other.get_by_role("heading", level=1)).to_contain_text("Мои заявки")

        page.goto(f"{base}/login")
        page.get_by_role("link", name="Забыли пароль?").click()
        page.get_by_label("Электронная почта").fill(email)
        page.get_by_role("button", name="Получить код").click()
        page.wait_for_url("**/password-reset/confirm")
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
