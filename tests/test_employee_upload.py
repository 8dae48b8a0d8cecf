"""Uploading an organisation's employee list: the API and the page, on real parts (both backends).

The whole list is replaced by every upload; a file refused as a whole changes nothing and answers in
the API's error shape (413/415/422); a list with row problems is kept with its problems and
their XLSX report and blocks the case until a corrected file replaces it (same case number); only the
owner uploads (404 for another citizen); the page hands the file to an RQ worker and shows progress.
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
from sqlalchemy import event, select

from engine.context import install
from forms.employees import read_employee_list
from tasks.cases.employee_jobs import check_uploaded_list, enqueue_check
from tasks.cases.employees import begin_page_check, record_progress
from tasks.cases.models.cases import Application
from tasks.cases.models.employees import CaseEmployeeList
from tasks.cases.storage import FileStore
from tasks.process import install_config
from tests.support.accounts import bearer, csrf_token
from tests.support.backend import wait_for
from tests.support.employees import (
    delivered_messages,
    demo_employees,
    employees_csv,
    generated_people,
    head_token,
    journal_events,
    page_client,
    submit,
    upload,
    waits_for,
)
from tests.support.product import Product
from web.extensions import db


def _list(product: Product, token: str, number: str) -> dict:
    r = product.client().get(f"/api/v1/applications/{number}/employees", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _with_problems() -> bytes:
    staff = demo_employees(insured=2)
    return employees_csv(staff, extra=[
        ["Петров", "Иван", "", "31.02.1990", "", "Инженер", "1234567890123456", "petrov@example.ru"],
        [staff[0]["last_name"], staff[0]["first_name"], staff[0]["middle_name"] or "",
         staff[0]["birth_date"].strftime("%d.%m.%Y"), "", "Инженер", staff[0]["enp"], "dup@example.ru"],
    ])


def test_a_list_with_row_problems_blocks_the_case_until_a_corrected_file_replaces_it(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    r = upload(product, token, number, _with_problems())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "rejected" and body["version"] == 1 and body["total_rows"] == 4
    by_field = {(p["row"], p["field"]): p for p in body["rejected"]}
    assert by_field[(4, "birth_date")]["code"] == "bad_date" and "31.02.1990" in by_field[(4, "birth_date")]["message"]
    assert by_field[(4, "enp")]["code"] == "checksum"
    assert any(p["row"] == 5 and p["code"] == "duplicate" for p in body["rejected"])

    listed = _list(product, token, number)
    assert listed["status"] == "rejected" and listed["rejected_rows"] == 2 and listed["report"] is True
    report = product.client().get(f"/api/v1/applications/{number}/employees/report.xlsx", headers=bearer(token))
    assert report.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(report.data)).worksheets[0]
    comments = [c.comment.text for row in sheet.iter_rows() for c in row if c.comment]
    assert any("31.02.1990" in text for text in comments)

    # The process waits for an accepted list: the case does not go on.
    wait_for(lambda: waits_for(product, number, "employees_accepted"), timeout=60, message="the wait for the list")
    assert product.case(token, number)["status"] == "in_progress"
    assert "employees_checked" not in journal_events(product, number)

    fixed = upload(product, token, number, employees_csv(demo_employees(insured=3)))
    assert fixed.status_code == 200 and fixed.get_json()["status"] == "accepted"
    assert delivered_messages(product, number) == ["employees_accepted"]  # the waiting process was told
    assert "Получен список работников" in [e["message"] for e in product.case(token, number)["journal"]]
    assert fixed.get_json()["version"] == 2 and fixed.get_json()["rejected"] == []
    wait_for(lambda: "employees_checked" in journal_events(product, number), timeout=60,
             message="the employees to be checked")
    listed = _list(product, token, number)
    assert listed["status"] == "accepted" and listed["accepted"] == 3 and listed["report"] is False
    assert listed["results"]["insured"] == 3
    with product.app.app_context():
        assert db.session.scalar(select(Application.number).where(Application.number == number)) == number


def test_files_refused_as_a_whole_change_nothing(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    assert upload(product, token, number, _with_problems()).get_json()["status"] == "rejected"

    def refused(data: bytes, filename: str, status: int, code: str) -> None:
        r = upload(product, token, number, data, filename)
        assert r.status_code == status, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == code and error["message"] and error["fields"][0]["field"] == "file"

    refused(b"MZ\x90\x00" + b"\x00" * 200, "работники.csv", 415, "invalid_format")
    refused(b"%PDF-1.4\n" + b"x" * 100, "работники.xlsx", 415, "invalid_format")
    refused(b"a" * (5 * 1024 * 1024 + 10), "работники.csv", 413, "too_large")
    refused("Фамилия;Имя\nИванов;Иван\n".encode(), "работники.csv", 422, "missing_columns")
    refused(employees_csv(generated_people(10_001)), "работники.csv", 422, "too_many_rows")
    wide = employees_csv(demo_employees(insured=1)).decode("utf-8-sig").split("\r\n")
    wide[0] += "".join(f";Столбец {i}" for i in range(23))  # 8 + 23 = 31 columns, one over the limit
    refused("\r\n".join(wide).encode(), "работники.csv", 422, "too_many_columns")
    truncated = io.BytesIO()
    with zipfile.ZipFile(truncated, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    refused(truncated.getvalue()[:-10], "работники.xlsx", 422, "broken_file")
    missing = product.client().post(f"/api/v1/applications/{number}/employees", headers=bearer(token), data={},
                                    content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.get_json()["error"]["fields"][0]["field"] == "file"

    listed = _list(product, token, number)
    assert listed["version"] == 1 and listed["status"] == "rejected" and listed["total_rows"] == 4


def test_only_the_owner_uploads_and_staff_read(product: Product) -> None:
    token = head_token(product)
    number = submit(product, token)
    stranger = product.citizen_token()
    data = employees_csv(demo_employees(insured=1))
    assert upload(product, stranger, number, data).status_code == 404
    r = product.client().get(f"/api/v1/applications/{number}/employees", headers=bearer(stranger))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    operator = product.staff_token("operator")
    assert upload(product, operator, number, data).status_code == 403
    assert _list(product, operator, number)["status"] is None
    rows = product.client().get(f"/api/v1/applications/{number}/employees/rows?result=bogus", headers=bearer(operator))
    assert rows.status_code == 422
    person = product.apply(token, "valid")["number"]  # a citizen's own case takes no list
    r = upload(product, token, person, data)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_organization"


def test_templates_read_back_without_problems(product: Product) -> None:
    client = product.client()
    for kind in ("xlsx", "csv"):
        for path in (f"/api/v1/employees/template.{kind}", f"/employees/template.{kind}"):
            r = client.get(path)
            assert r.status_code == 200, path
            assert "attachment" in r.headers["Content-Disposition"]
            result = read_employee_list(r.data, f"template.{kind}")
            assert result.problems == [] and len(result.rows) == 1
    assert client.get("/api/v1/employees/template.exe").status_code == 404


def _page_check(product: Product, number: str, filename: str, data: bytes) -> tuple[int, int]:
    """A page upload stored and marked `checking` as the page does it, before any worker reads it."""
    with product.app.app_context():
        owner = db.session.scalar(select(Application.owner_id).where(Application.number == number))
    return begin_page_check(product.app.extensions["backoffice"].database,
                            product.app.extensions["backoffice_config"], number=number, uploader_id=owner,
                            filename=filename, data=data)


def test_the_page_checks_a_large_list_in_a_worker_and_shows_progress(product: Product) -> None:
    client, token = page_client(product)
    number = submit(product, token)
    page = client.get(f"/applications/{number}/employees")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<label for="f-file">Файл со списком работников (CSV или XLSX)</label>' in html
    assert "/employees/template.xlsx" in html and "/employees/template.csv" in html

    # Without JavaScript: while a worker reads the file the page refreshes itself and says how far it got.
    data = employees_csv(generated_people(3000))
    services = product.app.extensions["backoffice"]
    list_id, version = _page_check(product, number, "большой.csv", data)
    html = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2"' in html and "Файл читается" in html
    assert "Обновить страницу" in html and "js/employees.js" in html
    assert 'name="file"' not in html  # no second upload while one is being read
    # How far the worker got, as it records it (test_the_check_job_records_progress_every_500_rows).
    record_progress(services.database, list_id, version, 1500, 3000)
    html = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    assert "Проверено 1500 из 3000 строк" in html
    state = client.get(f"/applications/{number}/employees/progress").get_json()
    assert (state["status"], state["done"], state["total"]) == ("checking", 1500, 3000)
    enqueue_check(services, list_id=list_id, version=version, number=number)

    def finished() -> dict | None:
        state = client.get(f"/applications/{number}/employees/progress").get_json()
        return state if state["status"] != "checking" else None

    # The generated people are not in the demo ЕРЗЛ; what matters here is that the worker read them all.
    assert wait_for(finished, timeout=60, interval=0.05, message="the worker's check")["status"] == "accepted"
    html = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    assert "Список принят" in html and "работников — 3000" in html
    assert 'http-equiv="refresh"' not in html


def test_the_check_job_records_progress_every_500_rows(product: Product) -> None:
    """The worker's job, run here so every progress write can be seen: the page's figure moves as it reads."""
    # The job finds the services and the configuration its process's entry point installed: this product's.
    install(product.app.extensions["backoffice"])
    install_config(product.app.extensions["backoffice_config"])
    _, token = page_client(product)
    number = submit(product, token)
    list_id, version = _page_check(product, number, "большой.csv", employees_csv(generated_people(1800)))
    written: list[tuple[int, int]] = []

    def capture(_mapper, _connection, target: CaseEmployeeList) -> None:
        if target.id == list_id:  # not another test's list, checked by a worker meanwhile
            written.append((target.progress_done, target.progress_total))

    event.listen(CaseEmployeeList, "after_update", capture)
    try:
        assert check_uploaded_list(list_id, version, number) == "accepted"
    finally:
        event.remove(CaseEmployeeList, "after_update", capture)
    progress = [w for w in written if w[1]]
    assert progress[:4] == [(500, 1800), (1000, 1800), (1500, 1800), (1800, 1800)], written


def test_the_page_upload_shows_the_row_report(product: Product) -> None:
    client, token = page_client(product)
    number = submit(product, token)
    page = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    r = client.post(f"/applications/{number}/employees", data={"csrf_token": csrf_token(page),
                                                               "file": (io.BytesIO(_with_problems()), "список.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303 and r.location.endswith(f"/applications/{number}/employees")

    def report_page() -> str | None:
        html = client.get(f"/applications/{number}/employees").get_data(as_text=True)
        return html if "В списке есть ошибки" in html else None

    html = wait_for(report_page, timeout=60, message="the row report on the page")
    table = html[html.index('id="problems"'):]
    assert re.search(r"<td>4</td><td>Дата рождения</td><td>[^<]*31\.02\.1990", table)
    assert re.search(r"<td>4</td><td>Номер полиса ОМС \(ЕНП\)</td>", table)
    assert f"/applications/{number}/employees/report.xlsx" in html
    report = client.get(f"/applications/{number}/employees/report.xlsx")
    assert report.status_code == 200 and openpyxl.load_workbook(io.BytesIO(report.data))
    # A file that is not CSV/XLSX is refused on the spot, next to the field, and nothing changes.
    page = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    r = client.post(f"/applications/{number}/employees", data={"csrf_token": csrf_token(page),
                                                               "file": (io.BytesIO(b"MZ\x90\x00" * 50), "a.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 415 and 'id="f-file-error"' in r.get_data(as_text=True)
    assert _list(product, token, number)["version"] == 1
    stranger_client, _ = page_client(product)
    assert stranger_client.get(f"/applications/{number}/employees").status_code == 404


def test_a_page_check_that_breaks_says_so_and_offers_the_upload_again(product: Product) -> None:
    client, token = page_client(product)
    number = submit(product, token)
    services = product.app.extensions["backoffice"]
    list_id, version = _page_check(product, number, "работники.csv", employees_csv(demo_employees(insured=2)))
    with product.app.app_context():  # a failure of ours, not of the file: the stored upload is gone
        key = db.session.get(CaseEmployeeList, list_id).file_key
    FileStore(product.app.extensions["backoffice_config"].uploads_dir).path(key).unlink()
    enqueue_check(services, list_id=list_id, version=version, number=number)

    state = wait_for(lambda: (s := client.get(f"/applications/{number}/employees/progress").get_json())
                     and s["status"] != "checking" and s, timeout=60, message="the failed check to be reported")
    assert state["status"] == "refused"
    html = client.get(f"/applications/{number}/employees").get_data(as_text=True)
    assert "Не удалось проверить файл" in html and 'name="file"' in html and 'http-equiv="refresh"' not in html
    again = upload(product, token, number, employees_csv(demo_employees(insured=2)))
    assert again.status_code == 200 and again.get_json()["status"] == "accepted"
