"""PDF documents and verification codes, checked the way a reader and a scanner see them.

Every PDF is rendered for real and read back with poppler (pdftotext, pdfinfo, pdffonts,
pdftoppm) and zbar (zbarimg), so a test fails when the text, the fonts, the metadata or the QR
code that reaches a person is wrong - not when some internal call changes.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2
import pytest

from tasks.config import AppConfig
from tasks.documents import (
    AttachedDocument,
    CertificateData,
    ReceiptData,
    render_certificate,
    render_pdf,
    render_receipt,
)
from tasks.documents.formatting import (
    format_date,
    format_datetime,
    format_period,
    format_size,
    full_name,
    keep_abbreviations_together,
)
from tasks.verification import CODE_LENGTH, check_code, verification_code, verification_url
from tests.support.certificates import sample_certificate

SECRET = "test-secret-key-" * 3
BASE_URL = "https://oms.example.ru"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> AppConfig:
    data_dir = tmp_path_factory.mktemp("documents-data")
    return AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), "SECRET_KEY": SECRET,
                               "PUBLIC_BASE_URL": BASE_URL + "/"})


def certificate(**changes) -> CertificateData:
    return sample_certificate(**changes)


def receipt(**changes) -> ReceiptData:
    data = ReceiptData(
        number="З-2026-000045",
        submitted_at=datetime(2026, 2, 1, 11, 5, tzinfo=UTC),  # 14:05 in Moscow
        applicant_name="Ёлкина Алёна Сергеевна",
        period_from=date(2026, 1, 1), period_to=date(2026, 6, 30),
        documents=(AttachedDocument("Паспорт гражданина Российской Федерации", "passport_scan.pdf", 251_000),
                   AttachedDocument("СНИЛС", "snils.jpg", 80_000)),
        expected_by=date(2026, 2, 6),
    )
    return replace(data, **changes)


# ------------------------------------------------------------------ poppler / zbar helpers
def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


def _save(pdf: bytes, tmp_path: Path, name: str = "doc.pdf") -> Path:
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def pdf_text(path: Path) -> str:
    """The text as `pdftotext -layout` lays it out, with whitespace runs (and line breaks) collapsed.

    A line that ends in a hyphen is joined without a space: the documents are not hyphenated, so such
    a break can only fall after a real hyphen («СОГАЗ-Мед», «Ханты-Мансийский»).
    """
    text = _run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"])
    return " ".join(re.sub(r"-\n\s*", "-", text).split())


def in_reading_order(text: str, phrase: str) -> bool:
    """Whether the words of ``phrase`` occur in ``text`` in order, other words allowed between them.

    Side-by-side blocks (the signature line) come out of `pdftotext -layout` interleaved line by line.
    """
    pattern = r"\b" + r"\b.*?\b".join(map(re.escape, phrase.split())) + r"\b"
    return re.search(pattern, text) is not None


def pdf_info(path: Path) -> dict[str, str]:
    out = _run(["pdfinfo", "-isodates", "-enc", "UTF-8", str(path)])
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def pdf_fonts(path: Path) -> list[dict[str, str]]:
    """pdffonts rows as {name, type, emb, sub, uni}; the type column may hold spaces, so read from the right."""
    rows = []
    for line in _run(["pdffonts", str(path)]).splitlines()[2:]:
        parts = line.split()
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3],
                     "type": " ".join(parts[1:-6])})
    return rows


def qr_payloads(path: Path, tmp_path: Path) -> list[str]:
    prefix = tmp_path / "page"
    # PPM, not PNG: the same pixels without the compression that took nine tenths of pdftoppm's CPU
    subprocess.run(["pdftoppm", "-r", "200", str(path), str(prefix)], check=True, timeout=60)
    images = sorted(str(p) for p in tmp_path.glob("page*.ppm"))
    # zbarimg prints only the decoded data on stdout with --raw; stderr may carry D-Bus noise.
    return _run(["zbarimg", "--raw", "-q", *images]).splitlines()


# ------------------------------------------------------------------------- certificate
def test_certificate_states_the_confirmed_facts(config, tmp_path):
    path = _save(render_certificate(certificate(), config), tmp_path)
    text = pdf_text(path)

    assert "СПРАВКА о наличии полиса обязательного медицинского страхования" in text
    assert "№ 2026-000123 от 01.02.2026" in text
    assert "Фамилия, имя, отчество: Иванов Пётр Сергеевич" in text
    assert "Дата рождения: 14.03.1985" in text
    assert "Единый номер полиса ОМС (ЕНП): 7700000000000007" in text
    assert ("в период с 01.01.2026 по 31.12.2026 указанное ниже лицо застраховано в системе обязательного "
            "медицинского страхования Российской Федерации страховой медицинской организацией") in text
    assert "АО «Страховая компания «СОГАЗ-Мед» (код СМО 77008)" in text
    assert "на территории субъекта Российской Федерации: г. Москва." in text
    assert "Срок действия полиса: с 01.05.2019 бессрочно" in text
    assert "ТЕРРИТОРИАЛЬНЫЙ ФОНД ОБЯЗАТЕЛЬНОГО МЕДИЦИНСКОГО СТРАХОВАНИЯ ГОРОДА МОСКВЫ" in text
    assert in_reading_order(text, "Начальник отдела организации обязательного медицинского страхования")
    assert "И. П. Петрова" in text
    assert in_reading_order(text, "Документ сформирован в электронном виде")
    url = verification_url(config, "2026-000123")
    assert f"Проверить подлинность: отсканируйте QR-код или откройте {url}" in text


def test_certificate_embeds_the_bundled_cyrillic_fonts(config, tmp_path):
    fonts = pdf_fonts(_save(render_certificate(certificate(), config), tmp_path))

    assert fonts, "the PDF has no fonts at all"
    assert all(f["emb"] == "yes" and f["sub"] == "yes" and f["uni"] == "yes" for f in fonts), fonts
    # The @font-face family, not whatever serif font the system has: the PDF looks the same everywhere.
    assert {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in fonts} == {
        "Document-Serif-Semi-Condensed", "Document-Serif-Bold-Semi-Condensed"}


def test_certificate_metadata_and_page(config, tmp_path):
    info = pdf_info(_save(render_certificate(certificate(), config), tmp_path))

    assert info["Title"] == "Справка о наличии полиса обязательного медицинского страхования № 2026-000123"
    assert info["Author"] == "Территориальный фонд обязательного медицинского страхования города Москвы"
    assert info["Subject"] == "Подтверждение страхования в системе ОМС, справка № 2026-000123 от 01.02.2026"
    assert info["Keywords"] == "ОМС, полис, справка, 2026-000123"
    assert info["CreationDate"].startswith("2026-02-01T09:30:00")
    assert info["Pages"] == "1"
    assert "(A4)" in info["Page size"]


def test_certificate_qr_code_decodes_to_the_verification_url(config, tmp_path):
    path = _save(render_certificate(certificate(number="2026-004711"), config), tmp_path)

    payloads = qr_payloads(path, tmp_path)

    expected = f"{BASE_URL}/verify/2026-004711?code={verification_code(SECRET, '2026-004711')}"
    assert payloads == [expected]
    code = parse_qs(urlsplit(payloads[0]).query)["code"][0]
    assert check_code(config.secret_key, "2026-004711", code)


def test_long_names_and_yo_stay_on_one_page(config, tmp_path):
    long_insurer = ("Общество с ограниченной ответственностью «Страховая медицинская организация "
                    "«Территориальная объединённая страховая компания обязательного медицинского "
                    "страхования Ханты-Мансийского автономного округа — Югры и Ямало-Ненецкого автономного округа»")
    data = certificate(
        last_name="Ёлкина-Щербакова", first_name="Алёна-Мария", middle_name="Фёдоровна",
        insurer_name=long_insurer, region="Ханты-Мансийский автономный округ — Югра",
        policy_valid_to=date(2030, 12, 31),
        official_position=("Заместитель директора по организации обязательного медицинского страхования "
                           "и защите прав застрахованных лиц"),
        organisation=("Территориальный фонд обязательного медицинского страхования "
                      "Ханты-Мансийского автономного округа — Югры"),
    )
    path = _save(render_certificate(data, config), tmp_path)

    assert pdf_info(path)["Pages"] == "1"
    text = pdf_text(path)
    assert "Ёлкина-Щербакова Алёна-Мария Фёдоровна" in text
    assert long_insurer in text
    assert "с 01.05.2019 по 31.12.2030" in text
    assert len(qr_payloads(path, tmp_path)) == 1


def test_certificate_without_middle_name_code_or_region(config, tmp_path):
    data = certificate(middle_name=None, insurer_code="", region="")
    text = pdf_text(_save(render_certificate(data, config), tmp_path))

    assert "Фамилия, имя, отчество: Иванов Пётр Дата рождения:" in text
    assert "код СМО" not in text
    assert "СОГАЗ-Мед». Фамилия" in text  # the statement ends after the insurer, no dangling phrase


def test_certificate_data_rejects_an_inverted_period_and_an_empty_number():
    with pytest.raises(ValueError, match="period"):
        certificate(period_from=date(2026, 12, 31), period_to=date(2026, 1, 1))
    with pytest.raises(ValueError, match="number"):
        certificate(number="  ")


# ----------------------------------------------------------------------------- receipt
def test_receipt_lists_what_was_received(config, tmp_path):
    path = _save(render_receipt(receipt(), config), tmp_path)
    text = pdf_text(path)

    assert "ПОДТВЕРЖДЕНИЕ о приёме заявления" in text
    assert "Номер заявления З-2026-000045" in text
    assert "Дата и время подачи 01.02.2026 14:05 МСК" in text
    assert "Заявитель Ёлкина Алёна Сергеевна" in text
    assert "Выдача справки о наличии полиса обязательного медицинского страхования" in text
    assert "Запрашиваемый период с 01.01.2026 по 30.06.2026" in text
    assert "Срок рассмотрения до 06.02.2026" in text
    assert "1. Паспорт гражданина Российской Федерации — passport_scan.pdf (245 КБ)" in text
    assert "2. СНИЛС — snils.jpg (78 КБ)" in text
    assert BASE_URL in text

    info = pdf_info(path)
    assert info["Title"] == "Подтверждение о приёме заявления № З-2026-000045"
    assert info["Author"] == "Территориальный фонд обязательного медицинского страхования"
    assert info["Pages"] == "1"
    assert all(f["emb"] == "yes" for f in pdf_fonts(path))


def test_receipt_data_rejects_an_inverted_period():
    with pytest.raises(ValueError, match="period"):
        receipt(period_from=date(2026, 6, 30), period_to=date(2026, 1, 1))


def test_receipt_without_documents_says_so(config, tmp_path):
    text = pdf_text(_save(render_receipt(receipt(documents=(), expected_by=None), config), tmp_path))

    assert "Приложенные документы Документы не приложены." in text
    assert "Срок рассмотрения" not in text


def test_receipt_with_long_document_titles_stays_on_one_page(config, tmp_path):
    issued_by = ("Паспорт гражданина Российской Федерации, выдан Отделом по вопросам миграции Отдела "
                 "Министерства внутренних дел Российской Федерации по району Замоскворечье города Москвы, "
                 "код подразделения 770-001")
    unbroken = "скан_паспорта_" + "страница" * 12 + ".pdf"  # a file name with no place to break
    docs = (AttachedDocument(issued_by, unbroken, 3_400_000), AttachedDocument("СНИЛС", "snils.png", 900),
            AttachedDocument("Доверенность представителя", "", None))
    path = _save(render_receipt(receipt(documents=docs), config), tmp_path)

    assert pdf_info(path)["Pages"] == "1"
    text = pdf_text(path)
    assert issued_by in text
    assert "(3,2 МБ)" in text
    assert "2. СНИЛС — snils.png (900 байт)" in text
    assert "3. Доверенность представителя" in text


def test_user_data_is_escaped_not_interpreted(config, tmp_path):
    text = pdf_text(_save(render_receipt(receipt(applicant_name='<b>ООО "Ромашка" & Co</b>'), config), tmp_path))

    assert 'Заявитель <b>ООО "Ромашка" & Co</b>' in text


def test_render_pdf_fails_on_an_undefined_template_variable():
    with pytest.raises(jinja2.UndefinedError):
        render_pdf("receipt.html", {"organisation": "x"}, title="t", author="a")


# ------------------------------------------------------------------------ verification
def test_verification_code_round_trip_and_tampering():
    code = verification_code(SECRET, "2026-000123")

    assert len(code) == CODE_LENGTH and re.fullmatch(r"[A-Za-z0-9_-]+", code)
    assert code == verification_code(SECRET, "2026-000123")  # deterministic: nothing to store
    assert check_code(SECRET, "2026-000123", code)
    assert not check_code(SECRET, "2026-000124", code)  # another certificate's number
    assert not check_code("another-secret-key-" * 3, "2026-000123", code)  # another installation
    flipped = ("A" if code[0] != "A" else "B") + code[1:]
    assert not check_code(SECRET, "2026-000123", flipped)
    assert not check_code(SECRET, "2026-000123", code[:-1])
    assert not check_code(SECRET, "2026-000123", code + "A")


@pytest.mark.parametrize("garbage", ["", None, "ЖЖЖЖЖЖЖЖЖЖЖЖ", "\udcff" * CODE_LENGTH, "a" * 10_000])
def test_check_code_rejects_garbage_without_raising(garbage):
    assert not check_code(SECRET, "2026-000123", garbage)


def test_a_malformed_number_gets_no_valid_code_and_no_error():
    assert not check_code(SECRET, "\udcff/../2026", verification_code(SECRET, "2026-000123"))


def test_verification_code_refuses_an_empty_key():
    with pytest.raises(ValueError):
        verification_code("", "2026-000123")


def test_verification_url_keeps_a_number_in_one_path_segment(config):
    assert verification_url(config, "2026-000123") == (
        f"{BASE_URL}/verify/2026-000123?code={verification_code(SECRET, '2026-000123')}")
    url = verification_url(config, "С-1/2")
    assert url.startswith(f"{BASE_URL}/verify/%D0%A1-1%2F2?code=")
    assert check_code(SECRET, "С-1/2", parse_qs(urlsplit(url).query)["code"][0])


# -------------------------------------------------------------------------- formatting
def test_russian_date_formats():
    assert format_date(date(2026, 3, 8)) == "08.03.2026"
    # 22:30 UTC on 31 December is already 1 January in Moscow: dates follow the printed time.
    assert format_date(datetime(2025, 12, 31, 22, 30, tzinfo=UTC)) == "01.01.2026"
    assert format_datetime(datetime(2026, 2, 1, 11, 5, tzinfo=UTC)) == "01.02.2026 14:05 МСК"
    assert format_datetime(datetime(2026, 2, 1, 11, 5)) == "01.02.2026 14:05 МСК"  # naive = UTC, as stored
    assert format_period(date(2026, 1, 1), date(2026, 12, 31)) == "с 01.01.2026 по 31.12.2026"
    assert format_period(date(2019, 5, 1), None) == "с 01.05.2019 бессрочно"


def test_names_and_sizes():
    assert full_name("Иванов", "Пётр", "Сергеевич") == "Иванов Пётр Сергеевич"
    assert full_name("Smith", "John", None) == "Smith John"
    assert full_name("Иванов", "Пётр", "  ") == "Иванов Пётр"
    assert format_size(512) == "512 байт"
    assert format_size(250_000) == "244 КБ"
    assert format_size(1_468_006) == "1,4 МБ"
    assert keep_abbreviations_together("г. Москва") == "г.\u00a0Москва"
    assert keep_abbreviations_together("Респ. Саха (Якутия)") == "Респ.\u00a0Саха (Якутия)"
    assert keep_abbreviations_together("Московская область") == "Московская область"
