"""The staff task page and the inbox on a 1366x768 desktop screen, in headless Chromium.

An operator review (the applicant typed «е» where the registries write «ё») and an appeal that came back
from the citizen with an answer: on each task page the decision form's submit button is on the first
screen without scrolling, the registry's own spelling stands next to the applicant's, the appeal's
grounds and answer are there, and the full application, documents and journal are folded away; unfolded,
the journal is a table with readable columns. In the inbox the case number never wraps, saved filters sit
above the filters (not between them and the table), and the bulk «Назначить» list narrows to people who
may take the ticked tasks.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tasks.accounts.models import User
from tests.support.accounts import PASSWORD, add_user, bearer, fresh_otp
from tests.support.appeals import appealed_case, post_case
from tests.support.backend import wait_for
from tests.support.browser import chromium, log_in, served, wider_than_the_screen
from tests.support.product import Product
from web.extensions import db

DESKTOP = {"width": 1366, "height": 768}
FOLDED = ("#application-details", "#documents", "#journal")


def _token(product: Product, email: str) -> str:
    r = product.client().post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(product.app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _user_id(product: Product, email: str) -> int:
    with product.app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def _answered_appeal(product: Product, specialist: str) -> tuple[str, dict]:
    """(number, task): an appeal whose specialist asked for information and the citizen answered."""
    citizen, number = appealed_case(product, "Паспорт не утерян, заявление об утрате подано по ошибке.")
    first = product.wait_task(specialist, number, "appeal_review")
    r = product.client().post(f"/api/v1/tasks/{first['id']}/complete", headers=bearer(specialist),
                              json={"appeal_decision": "request_info", "appeal_comment": "Приложите справку МВД."})
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: "answer" in product.case(citizen, number)["actions"], timeout=60, message="the request")
    assert post_case(product, citizen, number, "answer", {"answer": "Справка МВД приложена."}).status_code == 200
    task = wait_for(lambda: next((t for t in product.tasks(specialist, number=number)
                                  if t["task"] == "appeal_review" and t["id"] != first["id"]), None),
                    timeout=60, message="the appeal back with the specialist")
    return number, task


def _on_first_screen(page: Page, selector: str) -> None:
    """The element is inside the 1366x768 viewport while the page is not scrolled."""
    assert page.evaluate("window.scrollY") == 0
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP["height"], (selector, box)


def _folded_then_readable(page: Page) -> None:
    """History and documents are folded; the unfolded journal's columns are wider than a few characters."""
    page.reload()  # this view's own «Просмотр заявления» row (with its badge) is in the journal now
    for selector in FOLDED:
        assert page.locator(selector).evaluate("el => el.tagName === 'DETAILS' && !el.open"), selector
    expect(page.locator(".journal-table")).to_be_hidden()
    page.locator("#journal > summary").click()
    expect(page.locator(".journal-table")).to_be_visible()
    widths = page.locator(".journal-table th").evaluate_all("ths => ths.map(th => th.getBoundingClientRect().width)")
    assert len(widths) == 3 and min(widths) >= 100 and widths[1] >= 250, widths
    row = page.locator(".journal-table tbody tr").first
    time_cell, event_cell = row.locator("td").nth(0), row.locator("td").nth(1)
    assert time_cell.evaluate("td => td.getClientRects().length === 1 && getComputedStyle(td).whiteSpace") == "nowrap"
    badge = page.locator(".journal-table .badge").first  # «Доступ к ПДн» reads on one line, not letter by letter
    assert badge.evaluate("b => b.getBoundingClientRect().width > b.getBoundingClientRect().height")
    assert event_cell.bounding_box()["height"] < 100


def test_task_pages_and_the_inbox_fit_a_desktop_screen(product: Product) -> None:
    citizen = product.citizen_token()
    person = product.application_body("yo_spelling")["person"]
    review_number = product.apply(citizen, "yo_spelling")["number"]
    review = product.wait_task(product.staff_token("operator"), review_number, "operator_review")
    specialist_email, operator_email, boss_email = (add_user(product.app, r) for r in
                                                    ("appeals", "operator", "supervisor"))
    appeal_number, appeal = _answered_appeal(product, _token(product, specialist_email))
    assert appeal["assignee"] == f"user:{_user_id(product, specialist_email)}"  # back with who asked

    with served(product) as base, chromium() as browser:
        # The operator's review: the form, the ё/е spelling as the registries write it, the checks.
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, operator_email, "/inbox", app=product.app)
        page.goto(f"{base}/inbox/tasks/{review['id']}")
        page.wait_for_load_state("load")
        _on_first_screen(page, ".case-screen__form button[type=submit]")
        _on_first_screen(page, ".registry-spelling")
        spelled = page.locator(".registry-spelling strong").inner_text()
        applicant = " ".join(person[k] for k in ("last_name", "first_name", "middle_name"))
        assert "ё" in spelled and spelled.replace("ё", "е") == applicant
        expect(page.locator(".registry-spelling")).to_contain_text("МВД, СФР, ЕРЗЛ")
        assert page.locator("#checks-title").bounding_box()["y"] < DESKTOP["height"]
        _folded_then_readable(page)

        # The specialist's appeal: grounds, the request and the answer, the refusal, the form.
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, specialist_email, "/inbox", app=product.app)
        page.goto(f"{base}/inbox?queue=mine")
        page.locator(f'#tasks tr[data-task-id="{appeal["id"]}"]').get_by_role("link", name=appeal_number).click()
        page.wait_for_load_state("load")
        expect(page.locator("#task-assignee")).to_contain_text(specialist_email)
        _on_first_screen(page, ".case-screen__form button[type=submit]")
        _on_first_screen(page, ".case-appeal")
        appeal_panel = page.locator(".case-appeal")
        for text in ("Паспорт не утерян", "Приложите справку МВД.", "Справка МВД приложена.", "Причины отказа"):
            expect(appeal_panel).to_contain_text(text)
        _folded_then_readable(page)

        # The supervisor's inbox: the whole width, numbers on one line, saved filters above the filters.
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        log_in(page, base, boss_email, "/inbox", app=product.app)
        # The newest two: this test's tasks. Without the limit the page also holds the open tasks of every
        # test this process ran before on the shared backend, whose data is not this test's to judge.
        page.goto(f"{base}/inbox?queue=all&sort=-received&limit=2")
        page.get_by_text("Сохранить текущий фильтр").click()
        page.get_by_label("Название фильтра").fill("Все открытые")
        page.get_by_role("button", name="Сохранить", exact=True).click()
        expect(page.locator(".inbox-saved__list")).to_contain_text("Все открытые")
        page.wait_for_load_state("load")
        assert not (wide := wider_than_the_screen(page)), wide
        table = page.locator("#tasks").bounding_box()
        assert table["width"] >= DESKTOP["width"] - 100, table
        for number, task in ((review_number, review), (appeal_number, appeal)):
            link = page.locator(f'#tasks tr[data-task-id="{task["id"]}"] td[data-label="Заявление"] a')
            expect(link).to_have_text(number)
            one_line = link.evaluate("a => a.getClientRects().length === 1 && a.getBoundingClientRect().height"
                                     " < 2 * parseFloat(getComputedStyle(a).fontSize)")
            assert one_line, f"{number} wraps"
        saved, filters = page.locator(".inbox-saved").bounding_box(), page.locator(".inbox-filters").bounding_box()
        results = page.locator("#inbox-results").bounding_box()
        assert saved["y"] + saved["height"] <= filters["y"] and filters["y"] + filters["height"] <= results["y"]
        expect(page.locator(".inbox-toolbar")).to_contain_text("С отмеченными задачами")

        # Bulk «Назначить»: ticking the appeal leaves out the operator, who may not take it.
        operator = page.locator(f'#bulk-assignee option[value="{_user_id(product, operator_email)}"]')
        specialist = page.locator(f'#bulk-assignee option[value="{_user_id(product, specialist_email)}"]')
        assert operator.evaluate("o => !o.disabled") and specialist.evaluate("o => !o.disabled")
        page.locator(f'#tasks tr[data-task-id="{appeal["id"]}"] input[name=ids]').check()
        assert operator.evaluate("o => o.disabled") and specialist.evaluate("o => !o.disabled")
        page.locator(f'#tasks tr[data-task-id="{review["id"]}"] input[name=ids]').check()
        assert specialist.evaluate("o => o.disabled")  # no one but supervisors may take both
        boss = page.locator(f'#bulk-assignee option[value="{_user_id(product, boss_email)}"]')
        assert boss.evaluate("o => !o.disabled")
