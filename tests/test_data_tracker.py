"""«Кто обращался к моим данным»: a citizen sees the staff's reads of their cases (when, role, department,
case; names only where policy allows), downloads everything held about them, and sees nobody else's."""

from __future__ import annotations

import io
import json
import zipfile

from engine.models import JournalEntry
from tasks.config import AppConfig
from tests.support.accounts import bearer, client_from, login, unique_email
from tests.support.backend import wait_for
from tests.support.images import png
from tests.support.product import Product
from tests.support.support_requests import answer, file_request, support_task
from tests.support.support_requests import png as support_png
from web.app import create_app
from web.extensions import db


def _journal_events(product: Product, event: str) -> int:
    with product.app.app_context():
        return db.session.query(JournalEntry).filter(JournalEntry.event == event).count()


def test_the_citizen_sees_who_read_their_case_and_downloads_their_data(product: Product) -> None:
    email = unique_email("tracked")
    token = product.citizen_token(email)
    scan = png()
    with product.registry.faults_set("erzl:down"):  # the case stays under review: uploads are allowed
        number = product.apply(token, "valid")["number"]
        r = product.client().post(f"/api/v1/applications/{number}/documents", headers=bearer(token),
                                  data={"kind": "passport_copy", "file": (io.BytesIO(scan), "паспорт.png")})
        assert r.status_code == 201
        doc_id = r.get_json()["id"]
        operator = product.staff_token("operator")
        assert product.client().get(f"/api/v1/applications/{number}", headers=bearer(operator)).status_code == 200
        assert product.client().get(f"/api/v1/applications/{number}/documents/{doc_id}",
                                    headers=bearer(operator)).status_code == 200
        product.case(token, number)  # the applicant's own read is not listed

        before = _journal_events(product, "data_access_viewed")
        listed = product.client().get("/api/v1/me/data-access", headers=bearer(token)).get_json()
        assert _journal_events(product, "data_access_viewed") == before + 1
        events = {(row["event"], row["role"], row["case_number"]) for row in listed["items"]}
        assert events == {("case_viewed", "operator", number), ("document_viewed", "operator", number)}
        assert all(row["department"] == "Отдел приёма и проверки заявлений" and row["staff_name"] is None
                   for row in listed["items"])
        assert listed["staff_names_shown"] is False

        other = product.citizen_token()
        assert product.client().get("/api/v1/me/data-access", headers=bearer(other)).get_json()["items"] == []
        assert product.client().get("/api/v1/me/data-access", headers=bearer(operator)).status_code == 403

        r = product.client().get("/api/v1/me/data-export", headers=bearer(token))
        assert r.status_code == 200 and r.mimetype == "application/zip"
        assert "no-store" in r.headers["Cache-Control"]
        archive = zipfile.ZipFile(io.BytesIO(r.data))
        data = json.loads(archive.read("data.json"))
        assert data["account"]["email"] == email and "password_hash" not in json.dumps(data)
        [case] = data["applications"]
        assert case["number"] == number and case["data"]["person"]["snils"]
        [document] = case["documents"]
        assert document["kind"] == "passport_copy" and archive.read(document["file"]) == scan
        assert {row["event"] for row in data["access_log"]} == {"case_viewed", "document_viewed"}
        assert _journal_events(product, "data_exported") >= 1
        other_zip = zipfile.ZipFile(io.BytesIO(product.client().get("/api/v1/me/data-export",
                                                                    headers=bearer(other)).data))
        assert json.loads(other_zip.read("data.json"))["applications"] == []


def test_the_page_lists_reads_and_names_staff_only_where_policy_allows(product: Product) -> None:
    email = unique_email("tracked-page")
    token = product.citizen_token(email)
    with product.registry.faults_set("erzl:down"):
        number = product.apply(token, "valid")["number"]
        supervisor = product.staff_token("supervisor")
        assert product.client().get(f"/api/v1/applications/{number}", headers=bearer(supervisor)).status_code == 200

    client = product.client()
    login(client, email)
    html = client.get("/my/data-access").get_data(as_text=True)
    assert "Кто обращался к моим данным" in html and f"{number}</a>" in html
    assert "Руководитель" in html and "Руководство отдела" in html and "Петров" not in html
    assert "Имена сотрудников не показываются" in html
    download = client.get("/my/data-access/export.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"

    env = {**product.env, "TRACKER_STAFF_NAMES": "1"}
    named = create_app(AppConfig.from_env(env))
    try:
        named_client = client_from(named)
        login(named_client, email)
        assert "Руководитель: Петров Пётр" in named_client.get("/my/data-access").get_data(as_text=True)
    finally:
        with named.app_context():
            db.engine.dispose()


def test_the_export_holds_the_citizens_support_requests_with_their_threads_and_files(product: Product) -> None:
    token = product.citizen_token(unique_email("tracked-support"))
    screenshot = support_png()
    filed = file_request(product, token, type="technical", text="Не открывается страница «Мои заявления».",
                         files=[("экран.png", screenshot)])
    assert filed.status_code == 201, filed.get_json()
    number = filed.get_json()["number"]
    support = product.staff_token("support")
    answer(product, support, support_task(product, support, number)["id"], "reply", "Обновите страницу, пожалуйста.")
    wait_for(lambda: len(product.client().get(f"/api/v1/support-requests/{number}", headers=bearer(token))
                         .get_json()["messages"]) == 2, message=f"the answer to {number}")
    other = product.citizen_token()
    file_request(product, other, type="other", text="Чужое обращение, его не должно быть в архиве.")

    archive = zipfile.ZipFile(io.BytesIO(product.client().get("/api/v1/me/data-export", headers=bearer(token)).data))
    data = json.loads(archive.read("data.json"))
    [request] = data["support_requests"]
    assert request["number"] == number and request["type_label"] == "Технический сбой"
    assert request["status"] == "answered" and request["created_at"]
    asked, answered = request["messages"]
    assert (asked["kind"], asked["text"]) == ("request", "Не открывается страница «Мои заявления».")
    assert (answered["kind"], answered["staff"], answered["text"]) == ("reply", True, "Обновите страницу, пожалуйста.")
    [attachment] = asked["attachments"]
    assert attachment["filename"] == "экран.png" and attachment["size"] == len(screenshot)
    assert archive.read(attachment["file"]) == screenshot
    # The screenshot is one of the citizen's documents too: listed there, stored in the archive once.
    assert attachment["file"] in {d["file"] for d in data["documents_without_application"]}
    assert len([n for n in archive.namelist() if n == attachment["file"]]) == 1
