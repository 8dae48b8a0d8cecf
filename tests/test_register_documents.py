"""The employee register: its PDF and XLSX read back the way people and programs read them, issued once
per attempt, verified by its QR code, and mailed to the organisation with both files attached.

PDFs go through poppler (pdftotext, pdfinfo, pdffonts, pdftoppm) and zbar (zbarimg); workbooks through
openpyxl; issuing and verification run on both test backends; the mail goes to a real SMTP server.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from reportlab.pdfbase.pdfmetrics import stringWidth
from sqlalchemy import func, select

from engine.errors import NotFound
from engine.operators import running_call
from tasks.cases.models.cases import Application, Certificate
from tasks.cases.notice_delivery import DeliveryFailed
from tasks.cases.registers import issue_register, send_register
from tasks.config import AppConfig
from tasks.documents.register import RegisterData, RegisterRow, register_verify_url, render_register_pdf
from tasks.documents.register_frame import BOLD, register_fonts
from tasks.documents.register_table import MAX_CELL_LINES, wrap_text
from tasks.documents.register_xlsx import render_register_xlsx
from tasks.mail import Attachment, send_mail, stored_mails
from tasks.verification import verification_code
from tests.support.accounts import add_user
from tests.support.backend import Backend
from tests.support.registers import ORGANIZATION, employee, org_application
from tests.support.smtp import SmtpServer
from web.extensions import db

SECRET = "test-secret-key-" * 3
BASE_URL = "https://oms.example.ru"
NUMBER = "2026-000123-1"
HOSTILE_NAME = '=HYPERLINK("http://evil.example/x","Нажмите")'
HEADER_WORDS = ("№", "ФИО", "Дата", "рождения", "Должность", "ЕНП", "Страховая медицинская", "Статус")


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> AppConfig:
    data_dir = tmp_path_factory.mktemp("register-data")
    return AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), "SECRET_KEY": SECRET,
                               "PUBLIC_BASE_URL": BASE_URL + "/"})




def register_data(config: AppConfig, rows: list[RegisterRow], **changes) -> RegisterData:
    data = RegisterData(
        number=NUMBER, issued_at=datetime(2026, 2, 1, 9, 30, tzinfo=UTC), organization=dict(ORGANIZATION),
        period_from=date(2026, 1, 1), period_to=date(2026, 12, 31), rows=rows,
        verify_url=register_verify_url(config, NUMBER), issuer="Территориальный фонд обязательного медицинского "
        "страхования города Москвы", official_name="Иванова Мария Петровна",
        official_position="Начальник отдела организации ОМС",
    )
    return replace(data, **changes)


# ------------------------------------------------------------------------ poppler / zbar helpers
def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120).stdout


def _save(pdf: bytes, tmp_path: Path) -> Path:
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "register.pdf"
    path.write_bytes(pdf)
    return path


def page_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """pdftotext -layout of the pages (all by default), whitespace runs collapsed."""
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return " ".join(_run(["pdftotext", "-layout", "-enc", "UTF-8", *pages, str(path), "-"]).split())


def in_reading_order(text: str, phrase: str) -> bool:
    """Whether the words of `phrase` occur in `text` in order: a cell's wrapped lines come out of
    `pdftotext -layout` interleaved with the neighbouring cells of the same row."""
    return re.search(".*?".join(map(re.escape, phrase.split())), text) is not None


def page_count(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)$", _run(["pdfinfo", str(path)]), re.M).group(1))


def pdf_info(path: Path) -> dict[str, str]:
    out = _run(["pdfinfo", "-isodates", "-enc", "UTF-8", str(path)])
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


# ------------------------------------------------------------------------------- the PDF
def test_register_states_requisites_period_employees_and_totals(config, tmp_path):
    rows = [employee(1), employee(2, insured=False),
            employee(3, last_name="Ёлкина", first_name="Алёна", middle_name=None, position="Инженер-технолог")]
    path = _save(render_register_pdf(register_data(config, rows), config), tmp_path)
    text = page_text(path)

    assert "ТЕРРИТОРИАЛЬНЫЙ ФОНД ОБЯЗАТЕЛЬНОГО МЕДИЦИНСКОГО СТРАХОВАНИЯ ГОРОДА МОСКВЫ" in text
    assert "РЕЕСТР застрахованных работников в системе обязательного медицинского страхования" in text
    assert f"№ {NUMBER} от 01.02.2026" in text
    assert "Организация Общество с ограниченной ответственностью «Ромашка»" in text
    assert "ИНН / КПП 7707083893 / 773601001" in text
    assert "ОГРН 1027700132195" in text
    assert "Юридический адрес 119021, г. Москва, ул. Льва Толстого, д. 16" in text
    assert "Период 01.01.2026–31.12.2026" in text
    assert "в период с 01.01.2026 по 31.12.2026 по данным единого регистра застрахованных лиц" in text
    for word in HEADER_WORDS:
        assert word in text
    for row in rows:
        assert row.enp in text
        assert row.birth_date.strftime("%d.%m.%Y") in text
    assert "Ёлкина Алёна" in text and "Инженер-технолог" in text
    assert in_reading_order(text, "АО «Страховая компания «СОГАЗ-Мед» (код СМО 77008)")  # wrapped in its column
    assert "Не застрахован: Полис не найден" in text
    assert "Всего работников: 3 Застрахованы: 2 Не застрахованы: 1" in text
    assert "Документ сформирован в электронном виде" in text
    assert "Начальник отдела организации ОМС" in text and "Иванова Мария Петровна" in text
    assert "Дата выдачи: 01.02.2026." in text
    assert f"Проверить подлинность: отсканируйте QR-код или откройте {register_verify_url(config, NUMBER)}" in text
    assert f"Реестр № {NUMBER} от 01.02.2026" in text and "Страница 1 из 1" in text


def test_register_metadata_fonts_and_landscape_page(config, tmp_path):
    path = _save(render_register_pdf(register_data(config, [employee(1)]), config), tmp_path)
    info = pdf_info(path)

    assert info["Title"] == f"Реестр застрахованных работников № {NUMBER}"
    assert info["Author"] == "Территориальный фонд обязательного медицинского страхования города Москвы"
    assert info["Subject"] == (f"Реестр застрахованных работников № {NUMBER} от 01.02.2026: "
                               "Общество с ограниченной ответственностью «Ромашка»")
    assert info["Keywords"] == f"ОМС, реестр, работники, {NUMBER}"
    assert info["CreationDate"].startswith("2026-02-01T09:30:00")
    assert "841.89 x 595.276 pts (A4)" in info["Page size"]  # landscape
    fonts = _run(["pdffonts", str(path)]).splitlines()[2:]
    assert fonts and all("DejaVuSerifCondensed" in line for line in fonts), fonts
    assert all(line.split()[-5:-2] == ["yes", "yes", "yes"] for line in fonts), fonts  # embedded, subset, unicode


def test_long_register_repeats_the_header_and_numbers_every_page(config, tmp_path):
    rows = [employee(i, insured=i % 7 != 0) for i in range(1, 121)]
    path = _save(render_register_pdf(register_data(config, rows), config), tmp_path)
    pages = page_count(path)

    assert pages >= 3
    for page in range(1, pages + 1):
        text = page_text(path, page, page)
        assert f"Страница {page} из {pages}" in text, page
        assert f"Реестр № {NUMBER} от 01.02.2026" in text, page
        if page > 1 and any(row.enp in text for row in rows):
            for word in HEADER_WORDS:
                assert word in text, (page, word)
    assert "Страница 2 из" in page_text(path, 2, 2)
    assert all(word in page_text(path, 2, 2) for word in HEADER_WORDS)
    whole = page_text(path)
    positions = [whole.index(row.enp) for row in rows]
    assert positions == sorted(positions)  # every employee, in the list's order
    assert re.search(r"\b120 Иванова", whole)
    last = page_text(path, pages, pages)
    assert "Всего работников: 120 Застрахованы: 103 Не застрахованы: 17" in last


def test_register_qr_code_decodes_to_the_verification_url(config, tmp_path):
    path = _save(render_register_pdf(register_data(config, [employee(1), employee(2)]), config), tmp_path)
    # PPM, not PNG: the same pixels without the compression that took nine tenths of pdftoppm's CPU
    subprocess.run(["pdftoppm", "-r", "200", str(path), str(tmp_path / "page")], check=True, timeout=60)
    images = sorted(str(p) for p in tmp_path.glob("page*.ppm"))

    payloads = _run(["zbarimg", "--raw", "-q", *images]).splitlines()

    assert payloads == [f"{BASE_URL}/verify/{NUMBER}?code={verification_code(SECRET, NUMBER)}"]


def test_names_print_as_typed(config, tmp_path):
    org = dict(ORGANIZATION, name="ООО «<b>Ромашка</b> & Co»")
    rows = [employee(1, last_name=HOSTILE_NAME, position="<i>ИТ</i> & Co")]
    text = page_text(_save(render_register_pdf(register_data(config, rows, organization=org), config), tmp_path))

    assert "ООО «<b>Ромашка</b> & Co»" in text  # not bold markup: the characters as typed
    assert "<i>ИТ</i> & Co" in text
    assert '=HYPERLINK("' in text


def test_long_words_are_cut_to_fit_their_column():
    register_fonts()
    word = "Щербакова-Константинопольская-Оглы-Ибн-Хоттабыч-Заде" * 2
    lines = wrap_text(f"Ёлкина {word}", BOLD, 8.5, 120)

    assert len(lines) > 2 and all(stringWidth(line, BOLD, 8.5) <= 120 for line in lines)
    assert "".join(lines).replace(" ", "") == f"Ёлкина{word}"
    assert all(line.endswith("-") for line in lines[1:-1])  # cut after a hyphen where one fits
    assert wrap_text("  Иванова   Анна  ", BOLD, 8.5, 120) == ("Иванова Анна",)
    runaway = wrap_text("слово " * 1000, BOLD, 8.5, 120)  # only data that bypassed the list's checks
    assert len(runaway) == MAX_CELL_LINES and runaway[-1].endswith("…")


def test_a_row_needs_a_known_status():
    with pytest.raises(ValueError):
        employee(1, status="unknown")


# ------------------------------------------------------------------------------ the XLSX
def _sheet_rows(xlsx: bytes) -> tuple[object, list[tuple]]:
    sheet = load_workbook(io.BytesIO(xlsx))["Реестр"]
    return sheet, [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_has_requisites_a_frozen_header_real_dates_and_totals(config):
    rows = [employee(1), employee(2, insured=False, reason="Срок действия полиса истёк"), employee(3, middle_name=None)]
    sheet, values = _sheet_rows(render_register_xlsx(register_data(config, rows)))

    labels = {row[0]: row[1] for row in values if row and isinstance(row[0], str) and row[1] is not None}
    assert labels["Организация"] == ORGANIZATION["name"]
    assert (labels["ИНН"], labels["КПП"], labels["ОГРН"]) == ("7707083893", "773601001", "1027700132195")
    assert labels["Юридический адрес"] == ORGANIZATION["legal_address"]
    assert labels["Период с"].date() == date(2026, 1, 1) and labels["Период по"].date() == date(2026, 12, 31)
    header = next(i for i, row in enumerate(values, start=1) if row[0] == "№")
    assert values[header - 1][:7] == ("№", "Фамилия", "Имя", "Отчество", "Дата рождения", "Должность", "ЕНП")
    assert sheet.freeze_panes == f"A{header + 1}"
    table = values[header:header + 3]
    assert [row[0] for row in table] == [1, 2, 3]
    assert [row[6] for row in table] == [r.enp for r in rows]  # text: all 16 digits kept
    assert all(isinstance(row[4], datetime) for row in table)  # real dates
    assert table[0][4].date() == rows[0].birth_date
    assert sheet.cell(header + 1, 5).number_format == "DD.MM.YYYY"
    assert table[1][9:] == ("Не застрахован", "Срок действия полиса истёк")
    assert table[0][7:10] == ("АО «Страховая компания «СОГАЗ-Мед»", "77008", "Застрахован")
    assert table[2][3] is None
    assert labels["Всего работников"] == 3 and labels["Застрахованы"] == 2 and labels["Не застрахованы"] == 1


def test_xlsx_neutralises_every_text_cell(config):
    rows = [employee(1, last_name=HOSTILE_NAME, first_name="+79161234567", position="-1", middle_name="@SUM(A1)")]
    org = dict(ORGANIZATION, name="=1+1", legal_address="\tг. Москва")
    sheet, values = _sheet_rows(render_register_xlsx(register_data(config, rows, organization=org)))

    header = next(i for i, row in enumerate(values, start=1) if row[0] == "№")
    row = values[header]
    assert row[1] == "'" + HOSTILE_NAME
    assert row[2:4] == ("'+79161234567", "'@SUM(A1)") and row[5] == "'-1"
    assert sheet.cell(header + 1, 2).data_type == "s"  # stored as text, not as a formula
    texts = [value for line in values for value in line if isinstance(value, str)]
    assert "'=1+1" in texts and "'\tг. Москва" in texts
    assert not [t for t in texts if t[0] in "=+-@\t\r"]


# ------------------------------------------------------------ issuing, verification, mail
ENV = {"SECRET_KEY": SECRET, "PUBLIC_BASE_URL": BASE_URL}


def test_register_is_issued_once_and_verified_without_personal_data(backend: Backend, make_app):
    app = make_app(**ENV)
    number = org_application(backend, add_user(app, "citizen"), "hr@romashka.example.ru")
    config = backend.config(**ENV)
    rows = [employee(1), employee(2, insured=False), employee(3)]

    folder = config.documents_dir / "registers"
    before = set(folder.glob("*")) if folder.is_dir() else set()

    first = issue_register(backend.services.database, config, number, rows)
    again = issue_register(backend.services.database, config, number, rows[:1])  # a re-run job

    assert again.id == first.id and again.storage_key == first.storage_key
    assert (first.kind, first.number, first.holder_masked) == ("register", f"{number}-1", ORGANIZATION["name"])
    assert first.data["counts"] == again.data["counts"] == {"total": 3, "insured": 2, "not_insured": 1}
    with backend.services.database.session() as s:
        assert s.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.application_id == first.application_id)) == 1
    assert set(folder.glob("*")) - before == {config.documents_dir / first.storage_key,
                                              config.documents_dir / first.xlsx_storage_key}
    pdf = (config.documents_dir / first.storage_key).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == first.sha256
    assert rows[1].enp in page_text(config.documents_dir / first.storage_key)
    xlsx = (config.documents_dir / first.xlsx_storage_key).read_bytes()
    assert hashlib.sha256(xlsx).hexdigest() == first.xlsx_sha256
    assert any(rows[2].enp in row for row in _sheet_rows(xlsx)[1])

    client = app.test_client()
    code = verification_code(SECRET, first.number)
    page = client.get(f"/verify/{first.number}?code={code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Реестр действителен" in html
    assert "Ромашка" in html and "7707083893" in html
    assert re.search(r"Работников в реестре</dt><dd>3<", html) and re.search(r"Не застрахованы</dt><dd>1<", html)
    assert rows[0].last_name not in html and rows[0].enp not in html

    answer = client.get(f"/api/v1/certificates/{first.number}/verify?code={code}").get_json()
    assert answer["valid"] is True and answer["status"] == "valid" and answer["kind"] == "register"
    assert answer["organization"] == {"name": ORGANIZATION["name"], "inn": "7707083893"}
    assert answer["employees"] == {"total": 3, "insured": 2, "not_insured": 1}
    assert answer["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert rows[0].last_name not in str(answer) and rows[0].enp not in str(answer)

    forged = client.get(f"/verify/{first.number}?code=AAAAAAAAAAAA")
    assert forged.status_code == 404 and "Ромашка" not in forged.get_data(as_text=True)
    assert client.get(f"/api/v1/certificates/{first.number}/verify?code=AAAAAAAAAAAA").get_json() == {
        "valid": False, "status": "not_found"}


def test_register_goes_to_the_organisation_with_both_files_once_per_call(backend: Backend, make_app,
                                                                           smtp_server: SmtpServer):
    app = make_app(**ENV)
    org_email = f"hr-{uuid.uuid4().hex[:8]}@romashka.example.ru"
    number = org_application(backend, add_user(app, "citizen"), org_email)
    config = backend.config(SMTP_URL=smtp_server.url, **ENV)
    database = backend.services.database
    register = issue_register(database, config, number, [employee(1), employee(2, insured=False)])
    call_id = 900_000_000 + uuid.uuid4().int % 100_000_000

    smtp_server.stop()  # the mail server is down: the job fails and will be retried
    try:
        with running_call(call_id), pytest.raises(DeliveryFailed):
            send_register(database, config, number)
    finally:
        smtp_server.start()
    with running_call(call_id):
        send_register(database, config, number)
        send_register(database, config, number)  # a retry of a job that already sent: nothing more

    mail = smtp_server.wait_for_mail(org_email)
    assert [m for m in smtp_server.messages if org_email in m.rcpt_tos] == [mail]
    assert mail.subject == f"Реестр застрахованных работников № {register.number} по заявлению № {number}"
    assert "Всего работников: 2, застрахованы: 1, не застрахованы: 1" in mail.text
    assert f"{BASE_URL}/verify/{register.number}?code={verification_code(SECRET, register.number)}" in mail.text
    assert employee(1).last_name not in mail.text and employee(1).enp not in mail.text
    parts = {part.get_filename(): part for part in mail.message.iter_attachments()}
    assert sorted(parts) == [f"reestr-{register.number}.pdf", f"reestr-{register.number}.xlsx"]
    pdf = parts[f"reestr-{register.number}.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == (config.documents_dir / register.storage_key).read_bytes()
    xlsx = parts[f"reestr-{register.number}.xlsx"]
    assert xlsx.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _, values = _sheet_rows(xlsx.get_content())
    assert any(employee(2).enp in row for row in values)


def test_sending_needs_an_issued_register(backend: Backend, make_app):
    app = make_app(**ENV)
    number = org_application(backend, add_user(app, "citizen"), "hr@romashka.example.ru")
    with pytest.raises(NotFound):
        send_register(backend.services.database, backend.config(**ENV), number)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate).join(Application).where(
            Application.number == number)) == 0


def test_attachments_also_reach_the_mail_file_fallback(tmp_path):
    """Without SMTP_URL the message is written to the data dir: the text stays readable, the files attached."""
    config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(tmp_path)})
    files = (Attachment("reestr.pdf", "application/pdf", b"%PDF-1.4 test"),
             Attachment("reestr.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"))

    send_mail(config, "hr@example.ru", "Реестр «Ромашки»", "Текст письма", attachments=files)

    [stored] = stored_mails(config.mail_dir)
    assert (stored.to, stored.subject, stored.text.strip()) == ("hr@example.ru", "Реестр «Ромашки»", "Текст письма")
    message = BytesParser(policy=policy.default).parsebytes(next(config.mail_dir.glob("*.eml")).read_bytes())
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in message.iter_attachments()] == [
        (f.filename, f.content_type, f.data) for f in files]
