"""«Запись к врачу» in headless Chromium on a phone-sized screen, on the real product: a citizen with a ready
certificate finds the clinic in the medical organisations directory and goes from its page to the booking,
is refused for a date the certificate does not cover (the reason next to the field), books a slot with it,
gets the confirmation mail, moves the booking and cancels it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from forms.dates import format_ru_date
from tests.support.accounts import unique_email
from tests.support.appointments import COVERED_DAYS, SPB_HOSPITAL, moscow_today, ready_certificate, soon
from tests.support.browser import fits_the_screen, log_in, phone_browser
from tests.support.product import Product

SPECIALTY = "неврология"


def wait_status(page: Page, label: str, tries: int = 120) -> None:
    """Reload the booking's page until its state reads `label` (the worker talks to the clinic meanwhile)."""
    for _ in range(tries):
        if page.locator(".appointment-status").inner_text() == label:
            return
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".appointment-status")).to_have_text(label)


def choose(page: Page, day: str) -> None:
    """The booking form up to the free times: the organisation, then the specialty and the date."""
    page.goto(page.url.split("/appointments")[0] + "/appointments/new")
    page.get_by_label("Медицинская организация").select_option(SPB_HOSPITAL)
    page.get_by_role("button", name="Далее").click()
    page.get_by_label("Специальность").select_option(SPECIALTY)
    page.get_by_label("Дата приёма").fill(day)
    page.get_by_role("button", name="Показать свободное время").click()


def test_book_move_and_cancel_with_a_certificate(product: Product) -> None:
    email = unique_email("booking-browser")
    token = product.citizen_token(email)
    certificate = ready_certificate(product, token)

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        page.goto(f"{base}/applications")
        page.get_by_role("link", name="Запись к врачу").click()
        expect(page.get_by_role("link", name="Записаться к врачу")).to_be_visible()
        # The clinic is found in the directory, and its page leads to the booking with it chosen.
        page.goto(f"{base}/medical-organizations?q={SPB_HOSPITAL}")
        page.locator(f'a[href="/medical-organizations/{SPB_HOSPITAL}"]').first.click()
        page.get_by_role("link", name="Записаться к врачу").click()
        expect(page.get_by_label("Медицинская организация")).to_have_value(SPB_HOSPITAL)
        expect(page.get_by_label("Специальность")).to_be_visible()

        beyond = moscow_today() + timedelta(days=COVERED_DAYS + 3)
        choose(page, format_ru_date(beyond))
        expect(page.get_by_label("Справка ОМС")).to_have_value(certificate)
        page.get_by_role("button", name="Записаться").click()
        error = page.locator(".field--error", has=page.get_by_label("Справка ОМС"))
        expect(error).to_contain_text(f"Справка № {certificate} подтверждает полис")
        expect(error).to_contain_text("не покрывает дату приёма")
        expect(page.locator(".error-summary")).to_contain_text("Справка ОМС")
        assert fits_the_screen(page)

        choose(page, format_ru_date(soon()))
        first = page.locator("input[name=slot_id]").first
        first_label = page.locator(f"label[for={first.get_attribute('id')}]").inner_text()
        page.get_by_role("button", name="Записаться").click()
        expect(page.locator(".flashes")).to_contain_text("создана")
        number = page.get_by_role("heading", level=1).inner_text().split("№")[-1].strip()
        wait_status(page, "Подтверждена")
        when = first_label.split(" — ")[0]
        expect(page.locator(".facts")).to_contain_text(when)
        expect(page.locator(".facts")).to_contain_text(f"№ {certificate}")
        assert fits_the_screen(page)
        mail = product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: подтверждена")
        visit = datetime.strptime(when.removesuffix(" МСК"), "%d.%m.%Y %H:%M")
        assert f"{visit:%d.%m.%Y} в {visit:%H:%M} МСК" in mail.text

        page.get_by_role("link", name="Перенести").click()
        page.get_by_role("button", name="Показать свободное время").click()
        second = page.locator("input[name=slot_id]").nth(1)
        second.check()
        new_when = page.locator(f"label[for={second.get_attribute('id')}]").inner_text().split(" — ")[0]
        page.get_by_role("button", name="Перенести запись").click()
        expect(page.locator(".flashes")).to_contain_text("переносится")
        wait_status(page, "Подтверждена")
        expect(page.locator(".facts")).to_contain_text(new_when)
        product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: перенесена")

        page.get_by_role("button", name="Отменить запись").click()
        expect(page.locator(".flashes")).to_contain_text("отменяется")
        wait_status(page, "Отменена")
        expect(page.get_by_role("button", name="Отменить запись")).to_have_count(0)
        product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: отменена")

        page.goto(f"{base}/appointments")
        expect(page.locator(".appointment-list")).to_contain_text(f"Запись № {number}")
        assert fits_the_screen(page)
