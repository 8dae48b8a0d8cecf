"""The citizen portal's pages through Flask's test client, as a browser without JavaScript uses them.

Each test runs on both backends against the real product (worker, scheduler, registry service and
SMTP server): the wizard, uploads, submission, «Мои заявки», the case page, verification of a
certificate by its QR address and the public policy check.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient

from forms import identifiers as ids
from forms.dates import format_ru_date
from tasks.verification import verification_code
from tests.support.accounts import csrf_token, login, unique_email
from tests.support.pdf import SCAN_PDF, pdf_text
from tests.support.product import Product
from tests.support.registry import demo_person
from web.security import unguarded_endpoints

PDF = SCAN_PDF
MOSCOW_DATETIME = re.compile(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}")
WIZARD_STEPS = ("personal", "passport", "ids", "period", "documents", "review")


# ---------------------------------------------------------------------- helpers
def citizen_session(product: Product, scenario: str = "valid") -> tuple[FlaskClient, str, str]:
    """A logged-in page session of a new citizen whose profile is the demo person of `scenario`."""
    person = demo_person(scenario)["person"]
    email = unique_email("portal")
    token = product.citizen_token(email, last_name=person["last_name"], first_name=person["first_name"],
                                  middle_name=person.get("middle_name"), birth_date=person["birth_date"])
    client = product.client()
    assert login(client, email).status_code == 302
    return client, email, token


def step_data(scenario: str = "valid") -> dict[str, dict[str, str]]:
    """What a person types on each data step (dates as ДД.ММ.ГГГГ)."""
    demo = demo_person(scenario)
    person, passport = demo["person"], demo["person"]["passport"]
    return {
        "personal": {"person.last_name": person["last_name"], "person.first_name": person["first_name"],
                     "person.middle_name": person.get("middle_name", ""),
                     "person.birth_date": format_ru_date(person["birth_date"]),
                     "person.citizenship": "Российская Федерация"},
        "passport": {"person.passport.series": passport["series"], "person.passport.number": passport["number"],
                     "person.passport.issued_on": format_ru_date(passport["issued_on"]),
                     "person.passport.issued_by": passport["issued_by"],
                     "person.passport.division_code": passport["division_code"]},
        "ids": {"person.snils": person["snils"], "person.inn": person["inn"],
                "policy_number": demo["policy_number"]},
        "period": {"period.kind": "current_year"},
    }


def post_step(client: FlaskClient, step: str, data: dict[str, Any], **kwargs: Any):
    page = client.get(f"/apply/{step}")
    assert page.status_code == 200, step
    return client.post(f"/apply/{step}", data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def fill_data_steps(client: FlaskClient, scenario: str = "valid") -> None:
    for step, data in step_data(scenario).items():
        response = post_step(client, step, data)
        assert response.status_code == 302, (step, response.get_data(as_text=True)[:3000])


def upload(client: FlaskClient, kind: str, content: bytes, filename: str, action: str = "upload"):
    return post_step(client, "documents", {f"documents.{kind}": (io.BytesIO(content), filename), "action": action},
                     content_type="multipart/form-data")


def field_block(html: str, element_id: str) -> str:
    """The markup of one field, from its wrapper to its label or input, whichever comes last: its error is inside."""
    marks = [html.index(m) for m in (f'for="{element_id}"', f'id="{element_id}"') if m in html]
    return html[html.rfind('<div class="field', 0, min(marks)):html.index(">", max(marks)) + 1]


def submit_application_pages(client: FlaskClient) -> str:
    fill_data_steps(client)
    assert upload(client, "passport_copy", PDF, "паспорт.pdf", action="next").status_code == 302
    done = post_step(client, "review", {"consent": "on", "comment": "Справка нужна для работодателя"})
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    found = re.fullmatch(r"/applications/([\d-]+)/submitted", done.location)
    assert found, done.location
    return found.group(1)



class _Inputs(HTMLParser):
    """Collects form controls and the ids that a <label for> names."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"] or "")
        if tag in ("select", "textarea") or (tag == "input" and a.get("type") not in ("hidden", "submit", "button")):
            self.controls.append({"tag": tag, **a})


def unlabelled_inputs(html: str) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(html)
    return [c for c in parser.controls if not c.get("id") or c["id"] not in parser.labelled]


# ---------------------------------------------------------------------- tests
def test_wizard_validates_each_step_and_keeps_the_draft_on_the_server(product: Product) -> None:
    client, email, _ = citizen_session(product)
    assert client.get("/apply").location == "/apply/personal"
    first = client.get("/apply/personal").get_data(as_text=True)
    assert 'value="Иванов"' in first and 'value="14.03.1985"' in first  # prefilled from the account
    assert 'aria-current="step"' in first and "Шаг 1 из 6" in first

    wrong = post_step(client, "personal", {**step_data()["personal"], "person.first_name": "",
                                           "person.birth_date": "31.02.1985"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'class="error-summary"' in html
    assert "Заполните поле" in field_block(html, "f-person-first-name")
    assert "Такой даты нет в календаре" in field_block(html, "f-person-birth-date")
    assert 'value="31.02.1985"' in html  # what was typed comes back

    assert post_step(client, "personal", step_data()["personal"]).location == "/apply/passport"
    bad_passport = post_step(client, "passport", {**step_data()["passport"], "person.passport.series": "45A5",
                                                  "person.passport.issued_on": "01.01.1990"})
    html = bad_passport.get_data(as_text=True)
    assert bad_passport.status_code == 422
    series = field_block(html, "f-person-passport-series")
    assert "Серия паспорта может содержать только цифры" in series and 'aria-invalid="true"' in series
    assert "14 лет" in field_block(html, "f-person-passport-issued-on")  # cross-field rule, on its step
    assert "f-person-last-name" not in html  # only this step's fields
    assert post_step(client, "passport", step_data()["passport"]).location == "/apply/ids"

    elsewhere = product.client()  # a new browser, a new login: the draft is found by the user
    assert login(elsewhere, email).status_code == 302
    assert elsewhere.get("/apply").location == "/apply/ids"
    passport = elsewhere.get("/apply/passport").get_data(as_text=True)
    assert 'value="4505"' in passport and 'value="19.03.2005"' in passport
    assert elsewhere.get("/").get_data(as_text=True).count("Продолжить заполнение") == 1


def test_period_choice_and_review_with_edit_links(product: Product) -> None:
    client, _, _ = citizen_session(product)
    fill_data_steps(client)
    missing_month = post_step(client, "period", {"period.kind": "month"})
    assert missing_month.status_code == 422
    assert "Заполните поле" in field_block(missing_month.get_data(as_text=True), "f-period-month")
    assert post_step(client, "period", {"period.kind": "month", "period.month": "02.2025",
                                        "period.from": "01.01.2020"}).location == "/apply/documents"
    review = client.get("/apply/review").get_data(as_text=True)
    assert "Один месяц" in review and "01.02.2025" in review and "28.02.2025" in review
    assert "01.01.2020" not in review  # inputs of another kind of period are dropped
    assert review.count(">Изменить<") == 5 and 'href="/apply/passport?edit=1"' in review
    assert "Иванов" in review and "4505" in review and "ГУ МВД России по г. Москве" in review

    edit = client.get("/apply/period?edit=1").get_data(as_text=True)
    assert "Сохранить и вернуться к проверке" in edit
    back = client.post("/apply/period?edit=1", data={"period.kind": "current_year", "csrf_token": csrf_token(edit)})
    assert back.location == "/apply/review"

    no_consent = post_step(client, "review", {})
    html = no_consent.get_data(as_text=True)
    assert no_consent.status_code == 422
    assert "дайте согласие на обработку персональных данных" in field_block(html, "f-consent")


def test_review_links_to_steps_that_still_have_problems(product: Product) -> None:
    client, _, _ = citizen_session(product)
    assert post_step(client, "personal", step_data()["personal"]).status_code == 302
    review = client.get("/apply/review").get_data(as_text=True)
    assert "Заявление заполнено не полностью" in review and 'href="/apply/passport?edit=1"' in review
    refused = post_step(client, "review", {"consent": "on"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Исправьте данные на предыдущих шагах" in html
    assert "Паспорт: шаг не заполнен" in html and "СНИЛС, ИНН и полис: СНИЛС — заполните поле" in html
    assert client.get("/applications").get_data(as_text=True).count("Заявление №") == 0


def test_uploads_are_checked_with_the_exact_messages(product: Product) -> None:
    client, _, _ = citizen_session(product)
    fill_data_steps(client)
    text = upload(client, "passport_copy", b"just text, not a scan", "scan.pdf")
    assert text.status_code == 422
    assert "Недопустимый формат" in field_block(text.get_data(as_text=True), "f-documents-passport-copy")
    big = upload(client, "snils_copy", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "big.pdf")
    assert big.status_code == 422
    assert "Превышен размер" in field_block(big.get_data(as_text=True), "f-documents-snils-copy")

    ok = upload(client, "policy_copy", PDF, "полис.pdf")
    assert ok.status_code == 302 and ok.location == "/apply/documents"
    page = client.get("/apply/documents").get_data(as_text=True)
    assert "полис.pdf" in page and "Копия полиса ОМС" in page and "scan.pdf" not in page
    delete_url = re.search(r'action="(/apply/documents/\d+/delete)"', page).group(1)
    assert client.post(delete_url, data={"csrf_token": csrf_token(page)}).status_code == 302
    after = client.get("/apply/documents").get_data(as_text=True)
    assert "Файл «полис.pdf» удалён." in after and "Файлы пока не загружены." in after


def test_submit_confirmation_receipt_list_and_case_page(product: Product) -> None:
    client, _, token = citizen_session(product)
    number = submit_application_pages(client)
    confirmation = client.get(f"/applications/{number}/submitted").get_data(as_text=True)
    assert f"Номер заявления: <strong>{number}</strong>" in confirmation
    assert MOSCOW_DATETIME.search(confirmation) and "МСК" in confirmation
    assert "паспорт.pdf" in confirmation and "Скачать подтверждение (PDF)" in confirmation
    receipt = client.get(f"/applications/{number}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert number in pdf_text(receipt.data)
    assert client.get("/apply").location == "/apply/personal"  # the draft became the application
    again = client.post("/apply/review", data={"consent": "on", "csrf_token": csrf_token(confirmation)})
    assert again.location == "/applications"  # a second click submits nothing more

    listing = client.get("/applications").get_data(as_text=True)
    assert f"Заявление №\u00a0{number}" in listing and 'class="badge' in listing
    assert f"Заявление №\u00a0{number}" in client.get(f"/applications?q={number}").get_data(as_text=True)
    assert "не найдено" in client.get("/applications?q=1999-000001").get_data(as_text=True)

    product.wait_status(token, number, "ready")
    page = client.get(f"/applications/{number}").get_data(as_text=True)
    assert "Готово к скачиванию" in page and "Скачать справку (PDF)" in page
    assert "Статус: «Принято»" in page and "паспорт.pdf" in page and MOSCOW_DATETIME.search(page)
    certificate = client.get(f"/applications/{number}/certificate.pdf")
    assert certificate.status_code == 200 and certificate.mimetype == "application/pdf"
    text = pdf_text(certificate.data)
    assert demo_person("valid")["policy_number"] in text and "Иванов" in text

    stranger, _, _ = citizen_session(product)
    for path in ("", "/submitted", "/receipt.pdf", "/certificate.pdf"):
        assert stranger.get(f"/applications/{number}{path}").status_code == 404, path
    assert f"Заявление №\u00a0{number}" not in stranger.get("/applications").get_data(as_text=True)

    cert_number = f"{number}-1"
    valid = product.client().get(f"/verify/{cert_number}?code={verification_code('test-secret-key', cert_number)}")
    html = valid.get_data(as_text=True)
    assert valid.status_code == 200 and "Справка действительна" in html
    assert "И***** С. П." in html and "Иванов " not in html and demo_person("valid")["policy_number"] not in html
    forged = product.client().get(f"/verify/{cert_number}?code=AAAAAAAAAAAA")
    assert forged.status_code == 404 and "Справка не найдена" in forged.get_data(as_text=True)
    assert "И*****" not in forged.get_data(as_text=True)


def test_rejected_case_shows_the_reasons_and_no_certificate(product: Product) -> None:
    client, _, token = citizen_session(product)
    number = product.apply(token, "no_policy")["number"]
    product.wait_status(token, number, "rejected")
    page = client.get(f"/applications/{number}").get_data(as_text=True)
    assert "Отклонено" in page and "В выдаче справки отказано" in page
    reason = product.case(token, number)["reasons"][0]
    assert reason["message"] in page and reason["note"] in page
    assert "Скачать справку" not in page
    not_ready = client.get(f"/applications/{number}/certificate.pdf")
    assert not_ready.status_code == 409 and "Справка ещё не готова" in not_ready.get_data(as_text=True)


def test_my_applications_are_paged_and_searchable(product: Product) -> None:
    client, _, token = citizen_session(product)
    numbers = [product.apply(token, "valid", index=i % 3)["number"] for i in range(21)]
    first = client.get("/applications").get_data(as_text=True)
    assert first.count('class="case-list__item') == 20 and "Страница 1 из 2" in first
    assert f"Заявление №\u00a0{numbers[-1]}" in first and f"Заявление №\u00a0{numbers[0]}" not in first  # newest first
    second = client.get("/applications?page=2").get_data(as_text=True)
    assert second.count('class="case-list__item') == 1 and f"Заявление №\u00a0{numbers[0]}" in second
    found = client.get(f"/applications?q={numbers[5]}").get_data(as_text=True)
    assert found.count('class="case-list__item') == 1 and "Найдено: 1" in found


def test_public_policy_check_reveals_nothing_on_a_mismatch(product: Product) -> None:
    client = product.client()
    demo = demo_person("valid")
    page = client.get("/policy-check").get_data(as_text=True)
    token = csrf_token(page)

    broken = client.post("/policy-check", data={"enp": "1234567890123456", "birth_date": "14.03.1985",
                                                "csrf_token": token})
    assert broken.status_code == 422
    assert ids.ENP_TYPO in field_block(broken.get_data(as_text=True), "f-enp")

    found = client.post("/policy-check", data={"enp": demo["policy_number"], "birth_date": "14.03.1985",
                                               "csrf_token": token}).get_data(as_text=True)
    assert "Полис действует" in found and "Страховая медицинская организация" in found
    mismatch = client.post("/policy-check", data={"enp": demo["policy_number"], "birth_date": "15.03.1985",
                                                  "csrf_token": token}).get_data(as_text=True)
    assert "Полис не найден" in mismatch and "Страховая медицинская организация" not in mismatch
    assert "Полис действует" not in mismatch


def test_embedded_mode_and_access_rules(product: Product) -> None:
    anonymous = product.client()
    for path in ("/apply", "/apply/personal", "/applications", "/applications/2026-000001"):
        assert anonymous.get(path).location.startswith("/login?next="), path
    home = anonymous.get("/").get_data(as_text=True)
    for link in ("Подать заявление", "Мои заявки", "Проверить полис", "href=\"/login\"", "href=\"/register\""):
        assert link in home

    client, _, _ = citizen_session(product)
    embedded = client.get("/apply/personal?embed=1")
    html = embedded.get_data(as_text=True)
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert "frame-ancestors" in embedded.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embedded.headers
    assert '<form method="post" action="/apply/personal"' in html
    assert 'class="site-header"' not in client.get("/applications").get_data(as_text=True)  # stays embedded
    assert 'class="site-header"' in client.get("/applications?embed=0").get_data(as_text=True)
    assert not [e for e in unguarded_endpoints(product.app) if e.split(".")[0] in ("apply", "cases", "public")]
    assert unguarded_endpoints(product.app) == []  # every route of the whole app declares who may call it


def test_every_page_labels_its_inputs(product: Product) -> None:
    client, _, token = citizen_session(product)
    pages = ["/", "/policy-check", *(f"/apply/{s}" for s in WIZARD_STEPS)]
    number = submit_application_pages(client)
    product.wait_status(token, number, "ready")
    pages += ["/applications", f"/applications/{number}", f"/applications/{number}/submitted",
              f"/verify/{number}-1?code={verification_code('test-secret-key', f'{number}-1')}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html, path
        assert unlabelled_inputs(html) == [], path
