"""«Обращения» and the hotline in headless Chromium on a phone-sized screen, on the real product.

- A citizen writes to support with a screenshot; a support specialist (password and TOTP code) answers it
  on the inbox's task page, where the thread and the screenshot are; the citizen reads the answer, gets the
  mail, and reopens the request.
- «Обжалование отказа» chosen on the support page of a refused case becomes that case's appeal.
- A support specialist files an application on a call: refused while the identity does not match, then
  filed, and the citizen sees the case with the channel in their cabinet.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from forms.dates import format_ru_date
from tests.support.accounts import add_user, bearer, unique_email
from tests.support.browser import fits_the_screen, log_in, phone_browser
from tests.support.product import Product
from tests.support.registry import demo_person
from tests.support.support_requests import png, support_task


def label(text: str) -> re.Pattern[str]:
    """A label that starts with exactly this word (labels of required fields end with « *»)."""
    return re.compile(rf"^{re.escape(text)}(?:\s|$)")


def _staff_page(page: Page, base: str, product: Product, email: str) -> Page:
    staff = page.context.browser.new_context(viewport=page.viewport_size, locale="ru-RU").new_page()
    log_in(staff, base, email, "/inbox", app=product.app)
    return staff


def test_request_with_a_screenshot_answered_in_the_inbox_and_reopened(product: Product, tmp_path) -> None:
    email = unique_email("support-browser")
    product.citizen_token(email)
    screenshot = tmp_path / "ошибка.png"
    screenshot.write_bytes(png())
    specialist = add_user(product.app, "support")

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        page.goto(f"{base}/applications")
        page.get_by_role("link", name="Обращения в службу поддержки").click()
        page.get_by_role("link", name="Новое обращение").click()
        page.get_by_role("button", name="Отправить обращение").click()  # empty: errors next to the fields
        expect(page.locator(".field--error", has=page.get_by_label(label("Текст обращения")))).to_be_visible()
        page.get_by_label(label("Тема обращения")).select_option(label="Технический сбой")
        page.get_by_label(label("Текст обращения")).fill("Страница «Мои заявки» открывается пустой.")
        page.get_by_label("Скриншоты").set_input_files(str(screenshot))
        page.get_by_role("button", name="Отправить обращение").click()
        expect(page.locator(".flashes")).to_contain_text("зарегистрировано")
        number = page.get_by_role("heading", level=1).inner_text().split("№")[-1].strip()
        expect(page.locator(".support-status")).to_have_text("На рассмотрении")
        expect(page.locator(".support-thread")).to_contain_text("ошибка.png")
        assert fits_the_screen(page)

        task = support_task(product, product.staff_token("support"), number)
        staff = _staff_page(page, base, product, specialist)
        staff.goto(f"{base}/inbox/tasks/{task['id']}")
        expect(staff.locator(".case-screen__support")).to_contain_text("Страница «Мои заявки» открывается пустой.")
        expect(staff.locator(".case-screen__support").get_by_role("link", name="ошибка.png")).to_be_visible()
        staff.get_by_role("button", name="Взять в работу").click()
        staff.get_by_label("Закрыть обращение с решением").check()
        staff.get_by_label(label("Текст для заявителя")).fill("Исправили, обновите страницу.")
        staff.get_by_role("button", name="Выполнить задачу").click()
        expect(staff.locator(".flash--success")).to_contain_text("Задача выполнена")

        mail = product.smtp.wait_for_mail(email)
        assert mail.subject == f"Обращение № {number}: обращение закрыто"
        page.goto(f"{base}/support/{number}")
        reopen = page.get_by_role("button", name="Открыть обращение снова")
        for _ in range(60):  # a worker records and mails the answer, then the request waits for the citizen
            if reopen.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(page.locator(".support-status")).to_have_text("Закрыто")
        expect(page.locator(".support-thread")).to_contain_text("Исправили, обновите страницу.")
        page.get_by_label(label("Сообщение")).fill("После обновления всё равно пусто.")
        reopen.click()
        expect(page.locator(".flashes")).to_contain_text("Сообщение отправлено")
        expect(page.locator(".support-status")).to_have_text("На рассмотрении")
        expect(page.locator(".support-thread")).to_contain_text("После обновления всё равно пусто.")
        assert fits_the_screen(page)


def test_appeal_chosen_on_the_support_page_is_the_cases_appeal(product: Product) -> None:
    email = unique_email("support-appeal")
    token = product.citizen_token(email)
    number = product.apply(token, "passport_lost")["number"]
    product.wait_status(token, number, "rejected")

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        page.goto(f"{base}/applications/{number}")
        expect(page.get_by_role("link", name="Подробнее об этой причине").first).to_be_visible()  # the FAQ
        page.get_by_role("link", name="Вопрос по заявлению? Напишите в службу поддержки").click()
        expect(page.get_by_label(label("Номер заявления"))).to_have_value(number)
        page.get_by_label(label("Тема обращения")).select_option(label="Обжалование отказа")
        page.get_by_label(label("Текст обращения")).fill("Паспорт не утерян, заявление об утрате ошибочное.")
        for _ in range(60):  # the case waits for an appeal once its refusal decision and notice are out
            page.get_by_role("button", name="Отправить обращение").click()
            if page.locator(".flashes").count():
                break
            page.wait_for_timeout(500)
            page.go_back()
        expect(page.locator(".flashes")).to_contain_text(f"Жалоба № A-{number} на отказ зарегистрирована")
        expect(page.locator(".support-status")).to_have_text("Передано на обжалование")
        page.get_by_role("link", name=f"№ {number}").click()
        expect(page.locator(".appeal-list")).to_contain_text("рассматривается")
    case = product.case(token, number)
    assert case["status"] == "appealed" and [a["number"] for a in case["appeals"]] == [f"A-{number}"]


def test_hotline_application_for_a_matching_and_a_mismatching_caller(product: Product) -> None:
    demo = demo_person("valid", 4)
    person, passport = demo["person"], demo["person"]["passport"]
    email = unique_email("caller")
    token = product.citizen_token(email, last_name=person["last_name"], first_name=person["first_name"],
                                  middle_name=person.get("middle_name"), birth_date=person["birth_date"])
    specialist = add_user(product.app, "support")

    with phone_browser(product) as (base, page):
        staff = _staff_page(page, base, product, specialist)
        staff.goto(f"{base}/hotline")  # «Заявление по звонку» in the support specialist's menu
        staff.get_by_label(label("Электронная почта гражданина")).fill(email)
        staff.get_by_label(label("Фамилия")).fill(person["last_name"])
        staff.get_by_label(label("Имя")).fill(person["first_name"])
        staff.get_by_label(label("Отчество")).fill(person.get("middle_name") or "")
        staff.get_by_label(label("Дата рождения")).fill("01.01.1970")  # not the caller's
        staff.get_by_label(label("Серия")).fill(passport["series"])
        staff.get_by_role("textbox", name="Номер", exact=True).fill(passport["number"])
        staff.get_by_label(label("Дата выдачи")).fill(format_ru_date(passport["issued_on"]))
        staff.get_by_label(label("Кем выдан")).fill(passport["issued_by"])
        staff.get_by_label(label("Код подразделения")).fill(passport["division_code"])
        staff.get_by_label(label("СНИЛС")).fill(person["snils"])
        staff.get_by_label(label("Номер полиса ОМС")).fill(demo["policy_number"])
        staff.get_by_label("Даю согласие на обработку моих персональных данных").check()
        staff.get_by_role("button", name="Проверить личность и подать заявление").click()
        expect(staff.locator("#identity-mismatch")).to_contain_text("не совпадают с учётной записью")
        assert product.client().get("/api/v1/applications", headers=bearer(token)).get_json()["items"] == []

        staff.get_by_label(label("Дата рождения")).fill(format_ru_date(person["birth_date"]))
        staff.get_by_role("button", name="Проверить личность и подать заявление").click()
        expect(staff.get_by_role("heading", level=1)).to_contain_text("подано")
        number = staff.locator(".hotline-number").inner_text()
        assert fits_the_screen(staff)

        log_in(page, base, email)
        page.goto(f"{base}/applications/{number}")
        expect(page.locator(".case-channel")).to_contain_text("горячая линия")
        expect(page.locator("main")).to_contain_text("горячая линия")
    assert product.smtp.wait_for_mail(email).subject.startswith(f"Заявление № {number}")
