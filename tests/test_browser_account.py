"""The account in Chromium: registration with ЕНП/ИНН errors shown next to their fields, and a new
version of the personal-data consent asked for at the next login (nothing else opens until accepted)."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from forms.dates import today_moscow
from tasks.config import BUNDLED_LEGAL_DOCUMENTS
from tests.support.accounts import ENP, PASSWORD, add_user, unique_email
from tests.support.browser import PHONE, chromium, log_in, open_page, served_app
from tests.support.smtp import activation_code


def test_registration_shows_enp_and_inn_errors_next_to_their_fields(backend, make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    email = unique_email("browser")
    with served_app(app) as base, chromium() as browser:
        page = open_page(browser, base)
        page.goto(f"{base}/register")
        page.get_by_label("Электронная почта").fill(email)
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_label("Мобильный телефон").fill("+79161234567")
        page.get_by_label("Фамилия").fill("Иванова")
        page.get_by_label(re.compile(r"^Имя(?:\s|$)")).fill("Мария")
        page.get_by_label("Дата рождения").fill("05.03.1985")
        page.get_by_label("Номер полиса ОМС (ЕНП)").fill("7700000000000017")
        page.get_by_label(re.compile(r"^ИНН(?:\s|$)")).fill("500100732258")
        page.get_by_label("Принимаю пользовательское соглашение").check()
        page.get_by_label("Даю согласие на обработку моих персональных данных").check()
        page.get_by_role("button", name="Зарегистрироваться").click()

        enp, inn = page.get_by_label("Номер полиса ОМС (ЕНП)"), page.get_by_label(re.compile(r"^ИНН(?:\s|$)"))
        expect(enp).to_have_attribute("aria-invalid", "true")
        expect(enp).to_have_accessible_description(
            "Необязательно. 16 цифр: из полиса или выписки о полисе. По нему мы заполним заявления за вас; "
            "указать его можно и позже, в профиле "
            "Ошибка: Номер полиса ОМС введён с ошибкой: сверьте 16 цифр с полисом или выпиской о полисе")
        expect(page.locator("#f-inn-error")).to_contain_text("ИНН введён с ошибкой")
        expect(inn).to_have_attribute("aria-describedby", "f-inn-hint f-inn-error")
        expect(page.locator(".error-summary")).to_contain_text("Номер полиса ОМС (ЕНП)")

        enp.fill(ENP)
        inn.fill("500100732259")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Зарегистрироваться").click()
        expect(page.get_by_role("heading", name="Подтверждение адреса электронной почты")).to_be_visible()
        page.get_by_label("Код из письма").fill(activation_code(smtp_server.wait_for_mail(email)))
        page.get_by_role("button", name="Подтвердить").click()
        expect(page.get_by_text("Адрес электронной почты подтверждён")).to_be_visible()
        page.goto(f"{base}/account")
        expect(page.get_by_label("Номер полиса ОМС (ЕНП)")).to_have_value(ENP)
        expect(page.get_by_label(re.compile(r"^ИНН(?:\s|$)"))).to_have_value("500100732259")


def test_a_new_consent_version_is_asked_at_the_next_login(backend, make_app, tmp_path):
    folder = tmp_path / "legal"
    shutil.copytree(BUNDLED_LEGAL_DOCUMENTS, folder)
    app = make_app(LEGAL_DOCUMENTS_DIR=str(folder))
    email = add_user(app, "citizen")
    with served_app(app) as base, chromium() as browser:
        page = open_page(browser, base)
        log_in(page, base, email)
        expect(page.get_by_role("heading", name="Справка о наличии полиса ОМС", level=1)).to_be_visible()
        # The session ends (the browser closed): a new context; clearing the cookies could race with a
        # response still arriving for this page, which may set the session cookie again.
        page.context.close()
        page = browser.new_context(viewport=PHONE, locale="ru-RU").new_page()

        (folder / "consent" / "2.html").write_text(
            f"<!--\nversion: 2\neffective: {today_moscow().isoformat()}\n-->\n"
            "<h2>1. Цель обработки</h2><p>Также для записи к врачу.</p>\n", encoding="utf-8")
        log_in(page, base, email, next_path="/applications")
        expect(page.get_by_role("heading", name="Новые редакции документов")).to_be_visible()
        expect(page.get_by_text("Также для записи к врачу.")).to_be_visible()
        page.goto(f"{base}/notifications")  # nothing else opens
        expect(page.get_by_role("heading", name="Новые редакции документов")).to_be_visible()

        page.get_by_role("button", name="Принять и продолжить").click()
        box = page.get_by_label("Принимаю документ «Согласие на обработку персональных данных» (редакция 2 от")
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#f-consent-error")).to_have_text(
            "Ошибка: Чтобы продолжить, примите документ «Согласие на обработку персональных данных»")
        box.check()
        page.get_by_role("button", name="Принять и продолжить").click()
        expect(page.get_by_text("Спасибо, согласие сохранено.")).to_be_visible()
        # back to the page asked for last
        expect(page.get_by_role("heading", name="Уведомления", level=1)).to_be_visible()
        page.goto(f"{base}/account")
        expect(page.locator("#documents + ul")).to_contain_text("редакция 2")
