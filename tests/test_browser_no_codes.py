"""No page a citizen or staff member can open shows an internal code.

One case is walked in headless Chromium through a refusal (the policy expired), an appeal, the
specialist's request for information, the citizen's answer and the decision (the refusal upheld),
then a second-level appeal. On the way the visible text of every page either side opens - the
citizen's case page with its history, «Мои заявки», the notifications, the appeal and answer forms;
the inbox, the task page, the staff audit of the case and the supervisor's dashboard - is searched
for what people must never read: snake_case codes (`request_info`, `appeal_filed`), dotted operator
ids (`registry.check_passport`), `None`, dict dumps and English words. Latin text that is
legitimately there (e-mail addresses, «PDF», the «A» of an appeal number) is allowed explicitly.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.accounts import add_user, unique_email
from tests.support.browser import log_in, phone_browser
from tests.support.product import Product
from tests.support.registry import demo_person

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"https?://\S+")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
DOTTED = re.compile(r"\b[a-z_]+\.[a-z_]+\b")
LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
DICT_DUMP = re.compile(r"[{}]|\w+: None")
# Latin words a Russian page may show: formats, units and abbreviations people use as they are.
ALLOWED_LATIN = {"PDF", "QR", "SMS", "JPEG", "PNG", "CSV", "XLSX", "JPG", "MB", "KB"}


def internal_codes(text: str) -> list[str]:
    """What in `text` is a code or English rather than Russian for people (e-mails and links set aside)."""
    text = URL.sub(" ", EMAIL.sub(" ", text))
    found = SNAKE.findall(text) + DOTTED.findall(text) + DICT_DUMP.findall(text)
    found += [w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN]
    return sorted(set(found))


def test_the_detector_sees_what_people_must_not_read() -> None:
    assert internal_codes("Жалоба № A-2026-000001: request_info — текст") == ["request_info"]
    assert {"operator", "registry.check_passport"} <= set(internal_codes("operator: registry.check_passport"))
    assert {"None", "from"} <= set(internal_codes("from: None"))
    assert internal_codes("Получено сообщение: appeal_filed") == ["appeal_filed"]
    assert {"role", "appeals", "{"} <= set(internal_codes("{'role': 'appeals'}"))
    assert internal_codes("Иванов (ivanov.s@test.local), решение № 2026-000001/1 (PDF), QR-код") == []


def _text(page: Page) -> str:
    return page.locator("body").inner_text()


class Walk:
    """The pages seen so far and what each showed that it should not."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def look(self, page: Page, name: str) -> str:
        text = _text(page)
        codes = internal_codes(text)
        if codes:
            self.problems[f"{name} ({page.url})"] = codes
        return text

    def expect_text(self, text: str, wanted: str, name: str) -> None:
        """A fact the page must state (checked at the end, so one run reports every page)."""
        if wanted not in text:
            self.problems[f"{name}: «{wanted}» missing"] = []

    def refuse_text(self, text: str, unwanted: str, name: str) -> None:
        if unwanted in text:
            self.problems[f"{name}: «{unwanted}» shown"] = []


def _until_offered(page: Page, url: str, link: str, tries: int = 120) -> None:
    """Open `url` until it offers `link` (the case waits for the citizen only once its notice is out)."""
    page.goto(url)
    for _ in range(tries):
        if page.get_by_role("link", name=link).count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"«{link}» not offered on {url}")


def _staff_task(walk: Walk, staff: Page, base: str, number: str, name: str) -> None:
    """Find the case's task in the inbox (by its appeal's number typed with a Cyrillic «А»), open and claim it."""
    staff.goto(f"{base}/inbox?queue=group&q=А-{number}")
    walk.look(staff, f"inbox ({name})")
    staff.locator("#tasks tbody tr").filter(has_text=number).get_by_role("link", name=number).click()
    if staff.get_by_role("button", name="Взять в работу").count():
        staff.get_by_role("button", name="Взять в работу").click()
    expect(staff.get_by_role("button", name="Выполнить задачу")).to_be_visible()
    walk.look(staff, f"task page ({name})")


def test_no_page_of_a_refused_and_appealed_case_shows_an_internal_code(product: Product) -> None:
    person = demo_person("policy_expired")["person"]
    email = unique_email("walker")
    token = product.citizen_token(email, last_name=person["last_name"], first_name=person["first_name"])
    number = product.apply(token, "policy_expired")["number"]
    product.wait_status(token, number, "rejected")
    specialist = add_user(product.app, "appeals")
    supervisor = add_user(product.app, "supervisor")
    appeals_token = product.staff_token("appeals")
    walk = Walk()
    case_url = lambda base: f"{base}/applications/{number}"  # noqa: E731

    with phone_browser(product) as (base, page):
        log_in(page, base, email)
        _until_offered(page, case_url(base), "Обжаловать отказ")
        text = walk.look(page, "case page, refused")
        walk.expect_text(text, "31.03.2025", "case page, refused")  # the day the policy expired, per ЕРЗЛ
        walk.expect_text(text, "Обратитесь в страховую медицинскую организацию АО «СОГАЗ-Мед»", "case page, refused")
        # re-entering the same data cannot renew a policy: the appeal is the main button, resubmission secondary
        expect(page.locator(".form-actions .btn").first).to_have_text("Обжаловать отказ")
        expect(page.locator(".form-actions .btn--secondary")).to_have_text("Подать повторно")
        page.goto(f"{base}/applications")
        walk.look(page, "my applications")
        page.goto(f"{base}/notifications")
        walk.look(page, "notifications, refused")

        page.goto(case_url(base))
        page.get_by_role("link", name="Обжаловать отказ").click()
        walk.look(page, "appeal form")
        page.get_by_label("Доводы жалобы").fill("Полис продлён, прошу проверить ещё раз.")
        page.get_by_role("button", name="Подать жалобу").click()
        expect(page.locator(".flashes")).to_contain_text("зарегистрирована")
        walk.look(page, "case page, appealed")
        page.goto(f"{base}/applications/ а-{number} ")  # the appeal's number as typed, Cyrillic «а»
        expect(page.get_by_role("heading", name=f"Заявление № {number}")).to_be_visible()

        product.wait_task(appeals_token, number, "appeal_review")
        staff = page.context.browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU").new_page()
        log_in(staff, base, specialist, "/inbox", app=product.app)
        _staff_task(walk, staff, base, number, "appeal")
        staff.get_by_label("Запросить сведения у заявителя").check()
        staff.get_by_label("Ответ заявителю").fill("Приложите, пожалуйста, новый полис или выписку из ЕРЗЛ.")
        staff.get_by_label("Внутренний комментарий").fill("Служебная пометка: проверить продление.")
        staff.get_by_role("button", name="Выполнить задачу").click()
        expect(staff.locator(".flash--success")).to_contain_text("Задача выполнена")
        staff.goto(f"{base}/staff/cases/{number}/journal")
        walk.look(staff, "staff audit, info requested")

        _until_offered(page, case_url(base), "Ответить на запрос")
        text = walk.look(page, "case page, info requested")
        walk.expect_text(text, "Приложите, пожалуйста, новый полис", "case page, info requested")
        walk.refuse_text(text, "Служебная пометка", "case page, info requested")
        page.get_by_role("link", name="Ответить на запрос").click()
        walk.look(page, "answer form")
        page.locator("textarea[name=answer]").fill("Новый полис оформлен, выписку приложу позже.")
        page.get_by_role("button", name="Отправить ответ").click()
        walk.look(page, "case page, answered")

        product.wait_task(appeals_token, number, "appeal_review")
        _staff_task(walk, staff, base, number, "appeal answered")
        staff.get_by_label("Оставить отказ в силе").check()
        staff.get_by_label("Ответ заявителю").fill("Выписка не представлена, отказ оставлен в силе.")
        staff.get_by_role("button", name="Выполнить задачу").click()
        expect(staff.locator(".flash--success")).to_contain_text("Задача выполнена")

        _until_offered(page, case_url(base), "Обжаловать в вышестоящем органе")
        text = walk.look(page, "case page, upheld")
        walk.expect_text(text, "Выписка не представлена, отказ оставлен в силе.", "case page, upheld")
        page.goto(f"{base}/notifications")
        walk.look(page, "notifications, upheld")
        page.goto(case_url(base))
        page.get_by_role("link", name="Обжаловать в вышестоящем органе").click()
        page.get_by_label("Доводы жалобы").fill("Не согласен с решением.")
        page.get_by_role("button", name="Подать жалобу").click()
        expect(page.locator(".flashes")).to_contain_text("зарегистрирована")
        walk.look(page, "case page, second appeal")

        staff.goto(f"{base}/staff/cases/{number}/journal")
        walk.look(staff, "staff audit, upheld")
        boss = page.context.browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU").new_page()
        log_in(boss, base, supervisor, "/dashboard", app=product.app)
        boss.goto(f"{base}/dashboard")
        walk.look(boss, "dashboard")
        boss.goto(f"{base}/inbox?queue=all&q={number}")
        walk.look(boss, "inbox (supervisor, all)")
        boss.goto(f"{base}/staff/cases/{number}/journal")
        walk.look(boss, "staff audit (supervisor)")

    assert not walk.problems, "pages that show internal codes or miss a fact:\n" + "\n".join(
        f"  {page}: {codes}" for page, codes in walk.problems.items())
