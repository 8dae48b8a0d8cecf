"""A citizen gets the certificate in a real browser (headless Chromium), on a phone-sized screen.

Register -> the code from the SMTP server -> activate -> log in -> the wizard with a real PDF upload ->
submit -> the case page until «Готово к скачиванию» -> download the certificate -> its text holds the
ЕНП, the name and the period -> its QR code, decoded from a 200 dpi rendering, opens the
verification page, which says the certificate is valid. The app is served over real HTTP on
127.0.0.1; the worker and scheduler processes run the product's workflows.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from weasyprint import HTML

from forms.dates import format_ru_date, today_moscow
from tests.support.accounts import ENP, PASSWORD, unique_email
from tests.support.browser import fits_the_screen, phone_browser, wait_until_ready
from tests.support.product import Product
from tests.support.registry import demo_person
from tests.support.smtp import activation_code


def label(text: str) -> re.Pattern[str]:
    """A label that starts with exactly this word (labels of required fields end with « *»)."""
    return re.compile(rf"^{re.escape(text)}(?:\s|$)")


def next_step(page: Page, heading: str) -> None:
    page.get_by_role("button", name="Далее").click()
    expect(page.locator("h2.wizard__title")).to_have_text(heading)
    assert fits_the_screen(page), heading


def register_and_log_in(page: Page, product: Product, base: str, email: str, person: dict) -> None:
    page.goto(f"{base}/register")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_label("Мобильный телефон").fill("+79161234567")
    page.get_by_label("Фамилия").fill(person["last_name"])
    page.get_by_label(label("Имя")).fill(person["first_name"])
    page.get_by_label("Отчество").fill(person["middle_name"])
    page.get_by_label("Дата рождения").fill(format_ru_date(person["birth_date"]))
    page.get_by_label("Номер полиса ОМС (ЕНП)").fill(ENP)
    page.get_by_label("Принимаю пользовательское соглашение").check()
    page.get_by_label("Даю согласие на обработку моих персональных данных").check()
    assert fits_the_screen(page)
    page.get_by_role("button", name="Зарегистрироваться").click()

    expect(page.get_by_role("heading", name="Подтверждение адреса электронной почты")).to_be_visible()
    page.get_by_label("Код из письма").fill(activation_code(product.smtp.wait_for_mail(email)))
    page.get_by_role("button", name="Подтвердить").click()

    # activation signs the person in and lands them on their home page: no second password prompt
    expect(page.get_by_text("Адрес электронной почты подтверждён")).to_be_visible()
    expect(page.get_by_role("heading", name="Справка о наличии полиса ОМС", level=1)).to_be_visible()
    expect(page.get_by_label("Пароль")).to_have_count(0)


def fill_the_wizard(page: Page, demo: dict, scan: Path) -> str:
    person, passport = demo["person"], demo["person"]["passport"]
    page.locator("main").get_by_role("link", name="Подать заявление : Справка о наличии полиса ОМС", exact=True).click()
    expect(page.locator("h2.wizard__title")).to_have_text("Личные данные")
    expect(page.get_by_label("Фамилия")).to_have_value(person["last_name"])  # from the account
    expect(page.get_by_label("Дата рождения")).to_have_value(format_ru_date(person["birth_date"]))
    next_step(page, "Паспорт")

    page.get_by_label("Серия").fill(passport["series"])
    page.get_by_label(label("Номер")).fill(passport["number"])
    page.get_by_label("Дата выдачи").fill(format_ru_date(passport["issued_on"]))
    page.get_by_label("Кем выдан").fill(passport["issued_by"])
    page.get_by_label("Код подразделения").fill(passport["division_code"])
    next_step(page, "СНИЛС, ИНН и полис")

    page.get_by_label("СНИЛС").fill(person["snils"])
    page.get_by_label("ИНН").fill(person["inn"])
    page.get_by_label("Номер полиса ОМС").fill(demo["policy_number"])
    next_step(page, "Период")

    month = page.get_by_label(label("Месяц"))
    expect(month).to_be_hidden()  # the script shows only the inputs of the chosen kind of period
    page.get_by_label("Один месяц").check()
    expect(month).to_be_visible()
    page.get_by_label("Текущий год").check()
    next_step(page, "Документы")

    page.get_by_label("Копия паспорта").set_input_files(str(scan))
    next_step(page, "Проверка и отправка")
    expect(page.locator(".form-summary")).to_contain_text(passport["issued_by"])
    expect(page.locator(".form-summary")).to_contain_text(scan.name)
    page.get_by_label("Даю согласие на обработку моих персональных данных").check()
    page.get_by_role("button", name="Подать заявление").click()

    expect(page.get_by_role("heading", name="Заявление принято")).to_be_visible()
    assert fits_the_screen(page)
    return page.locator(".panel__number strong").inner_text()




def qr_url(pdf: Path) -> str:
    """The QR code of the PDF's first page, rendered at 200 dpi and decoded by zbar."""
    prefix = pdf.with_suffix("")
    # PPM, not PNG: the same pixels without the compression that took nine tenths of pdftoppm's CPU
    subprocess.run(["pdftoppm", "-r", "200", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True)
    image = next(pdf.parent.glob(f"{prefix.name}*.ppm"))
    return subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True,
                          check=True).stdout.strip()




def test_citizen_gets_and_verifies_the_certificate_in_a_browser(product: Product, tmp_path: Path) -> None:
    demo = demo_person("valid")
    scan = tmp_path / "паспорт.pdf"
    HTML(string="<h1>Копия паспорта</h1>").write_pdf(scan)
    email = unique_email("browser")
    year = today_moscow().year

    with phone_browser(product) as (base, page):
        register_and_log_in(page, product, base, email, demo["person"])
        number = fill_the_wizard(page, demo, scan)

        page.get_by_role("link", name="Перейти к заявлению").click()
        expect(page.get_by_role("heading", name=f"Заявление № {number}")).to_be_visible()
        wait_until_ready(page)
        assert fits_the_screen(page)
        with page.expect_download() as download:
            page.get_by_role("link", name="Скачать справку (PDF)").click()
        pdf = tmp_path / "spravka.pdf"
        download.value.save_as(pdf)

        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert demo["policy_number"] in text
        assert "Иванов" in text and "Сергей" in text and "Петрович" in text
        assert f"01.01.{year}" in text and f"31.12.{year}" in text

        url = qr_url(pdf)
        public = urlsplit(product.env["PUBLIC_BASE_URL"])
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == (public.scheme, public.netloc), url
        assert parts.path == f"/verify/{number}-1"
        page.goto(f"{base}{parts.path}?{parts.query}")
        expect(page.locator(".verdict__title")).to_have_text("Справка действительна")
        expect(page.locator("main")).to_contain_text("действительна")
        expect(page.locator("main")).to_contain_text(f"с 01.01.{year} по 31.12.{year}")
        assert demo["policy_number"] not in page.content()
