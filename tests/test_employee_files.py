"""Hostile and broken employee files are refused cleanly: each with its code, HTTP status and a
Russian message, never with an unhandled error and never after unpacking or parsing too much.

The files are built for real: a zip bomb with zipfile writing a long run of zeros, a truncated
XLSX, an XML entity bomb inside a sheet, programs and PDFs renamed, a list over every limit.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import pytest
from openpyxl import Workbook

from forms.employees import (
    LIMITS,
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    EmployeeFileError,
    problems_report_xlsx,
    read_employee_list,
)
from tests.support.employee_files import FIELDS, HEADERS, csv_bytes, employee, employees, xlsx_bytes


def refused(data: bytes, name: str) -> EmployeeFileError:
    with pytest.raises(EmployeeFileError) as caught:
        read_employee_list(data, name)
    error = caught.value
    assert error.message and error.message == str(error)
    assert error.status == {"too_large": 413, "invalid_format": 415}.get(error.code, 422)
    return error


def _zip(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def _xlsx_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_limits_are_the_documented_ones():
    assert LIMITS == {"max_bytes": 5 * 1024 * 1024, "max_rows": 10_000, "max_columns": 30}
    assert (MAX_BYTES, MAX_ROWS, MAX_COLUMNS) == (5 * 1024 * 1024, 10_000, 30)


# ------------------------------------------------------------------ size, rows, columns
@pytest.mark.parametrize("name", ["big.csv", "big.xlsx"])
def test_file_over_5_mb_is_refused_with_413(name):
    data = csv_bytes(employees(1)) + b"x" * MAX_BYTES
    error = refused(data, name)
    assert (error.code, error.status) == ("too_large", 413)
    assert error.message == "Превышен размер файла: не более 5 МБ"


def test_exactly_5_mb_is_not_refused_for_its_size():
    rows = employees(50)
    spare = MAX_BYTES - len(csv_bytes(rows))
    for i, row in enumerate(rows):  # pad with spaces inside the cells: they are trimmed on reading
        row["position"] = "Инженер" + " " * (spare // 50 + (spare % 50 if i == 0 else 0))
    data = csv_bytes(rows)
    assert len(data) == MAX_BYTES
    result = read_employee_list(data, "list.csv")
    assert result.problems == [] and len(result.rows) == 50
    assert result.rows[0]["position"] == "Инженер"


def test_10001_rows_are_refused_in_csv_and_xlsx():
    rows = employees(MAX_ROWS + 1)
    for data, name in ((csv_bytes(rows), "list.csv"), (xlsx_bytes(rows, write_only=True), "list.xlsx")):
        error = refused(data, name)
        assert error.code == "too_many_rows"
        assert "не более 10\u00a0000" in error.message


def test_empty_rows_do_not_count_towards_the_row_limit():
    text = csv_bytes(employees(MAX_ROWS)).decode() + "\r\n;;;\r\n" * 50
    result = read_employee_list(text.encode(), "list.csv")
    assert result.total_rows == MAX_ROWS and not result.problems


def test_megabytes_of_empty_lines_or_a_stray_cell_far_below_stop_the_reading():
    blank_lines = csv_bytes(employees(1)) + b"\n" * (MAX_BYTES - 1000)
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append([employee(0)[f] for f in FIELDS])
    workbook.active["A200000"] = "забытая ячейка"
    out = io.BytesIO()
    workbook.save(out)
    for data, name in ((blank_lines, "list.csv"), (out.getvalue(), "list.xlsx")):
        error = refused(data, name)
        assert error.code == "too_many_rows"
        assert "считая пустые" in error.message


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_columns_are_refused(kind):
    headers = [*HEADERS, *(f"Поле {i}" for i in range(MAX_COLUMNS - len(HEADERS) + 1))]
    rows = [employee(0)]
    data = csv_bytes(rows, headers=headers) if kind == "csv" else xlsx_bytes(rows, headers=headers)
    error = refused(data, f"list.{kind}")
    assert error.code == "too_many_columns"
    assert "больше 30 столбцов" in error.message


def test_a_data_row_wider_than_the_limit_is_refused_too():
    text = csv_bytes(employees(1)).decode() + ";" * MAX_COLUMNS + "лишнее\r\n"
    assert refused(text.encode(), "list.csv").code == "too_many_columns"


@pytest.mark.parametrize(("data", "name"), [(b"", "list.csv"), (b"\xef\xbb\xbf\r\n\r\n", "list.csv"),
                                            (b";;;\r\n;;\r\n", "list.csv")])
def test_empty_files_are_refused(data, name):
    assert refused(data, name).code == "empty"


def test_headers_without_rows_are_refused():
    for data, name in ((csv_bytes([]), "list.csv"), (xlsx_bytes([]), "list.xlsx")):
        error = refused(data, name)
        assert error.code == "empty"
        assert "нет ни одной строки с сотрудником" in error.message


# ------------------------------------------------------------------ not what the name says
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(("data", "name", "says"), [
    (EXE, "list.csv", "исполняемый файл"),
    (EXE, "list.xlsx", "исполняемый файл"),
    (PDF, "list.csv", "документ PDF"),
    (PDF, "list.xlsx", "документ PDF"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "list.csv", "изображение PNG"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "list.xlsx", "старом формате XLS"),
    (b"anything", "list.xls", "старом формате XLS"),
    (b"Fam;Name\r\nA;B\x00C\r\n", "list.csv", "двоичный"),
    ("Фамилия;Имя\r\n".encode() + bytes(range(256)), "list.csv", "двоичный"),
    (csv_bytes(employees(1)), "list.txt", ".csv или .xlsx"),
    (csv_bytes(employees(1)), "list", ".csv или .xlsx"),
    (csv_bytes(employees(1)), "list.xlsx", "не является книгой Excel"),
])
def test_files_that_are_not_what_their_name_says_are_refused_with_415(data, name, says):
    error = refused(data, name)
    assert (error.code, error.status) == ("invalid_format", 415)
    assert says in error.message


def test_xlsx_named_csv_is_refused():
    error = refused(xlsx_bytes(employees(1)), "list.csv")
    assert error.code == "invalid_format"
    assert "переименуйте его в .xlsx" in error.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    docx_like = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    error = refused(docx_like, "list.xlsx")
    assert error.code == "invalid_format"
    assert "не книга Excel" in error.message


def test_text_in_neither_utf8_nor_windows_1251_is_refused():
    data = "Фамилия;Имя\r\n".encode("cp1251") + b"\x98\xff\r\n"  # 0x98 is unassigned in Windows-1251
    error = refused(data, "list.csv")
    assert error.code == "invalid_format"
    assert "UTF-8 или Windows-1251" in error.message


# ------------------------------------------------------------------ zip bombs and broken XLSX
def test_zip_bomb_by_total_size_is_refused_before_unpacking():
    parts = _xlsx_parts(xlsx_bytes(employees(1)))
    parts["xl/worksheets/sheet1.xml"] = b"\x00" * (60 * 1024 * 1024)
    bomb = _zip(parts)
    assert len(bomb) < MAX_BYTES
    error = refused(bomb, "list.xlsx")
    assert (error.code, error.status) == ("too_large", 413)
    assert "после распаковки больше 50 МБ" in error.message


def test_zip_bomb_by_compression_ratio_is_refused():
    parts = _xlsx_parts(xlsx_bytes(employees(1)))
    parts["xl/sharedStrings.xml"] = b"0" * (20 * 1024 * 1024)  # under 50 MB, but compressed ~1000 times
    error = refused(_zip(parts), "list.xlsx")
    assert error.code == "too_large"
    assert "zip-бомбу" in error.message


def test_zip_with_huge_number_of_parts_is_refused():
    parts = _xlsx_parts(xlsx_bytes(employees(1)))
    parts.update({f"xl/media/{i}.bin": b"" for i in range(1_001)})
    assert refused(_zip(parts, zipfile.ZIP_STORED), "list.xlsx").code == "too_large"


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_xlsx_is_broken_file_422(keep):
    data = xlsx_bytes(employees(200))
    error = refused(data[: int(len(data) * keep)], "list.xlsx")
    assert (error.code, error.status) == ("broken_file", 422)
    assert "повреждён" in error.message


@pytest.mark.parametrize("missing", ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/_rels/workbook.xml.rels",
                                     "[Content_Types].xml"])
def test_xlsx_with_a_missing_part_is_broken_file(missing):
    parts = _xlsx_parts(xlsx_bytes(employees(2)))
    del parts[missing]
    assert refused(_zip(parts), "list.xlsx").code == "broken_file"


def test_xlsx_with_a_corrupt_part_is_broken_file():
    data = bytearray(xlsx_bytes(employees(300)))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 100, start + 200):
        data[i] ^= 0x5A
    assert refused(bytes(data), "list.xlsx").code == "broken_file"


def test_xlsx_with_malformed_sheet_xml_is_broken_file():
    parts = _xlsx_parts(xlsx_bytes(employees(2)))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-40] + b"<row><c"
    assert refused(_zip(parts), "list.xlsx").code == "broken_file"


def test_xml_entity_bomb_inside_a_sheet_is_refused():
    laughs = ['<!ENTITY a0 "ha">'] + [f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    sheet = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [' + "".join(laughs) + "]>"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    ).encode()
    parts = _xlsx_parts(xlsx_bytes(employees(1)))
    parts["xl/worksheets/sheet1.xml"] = sheet
    assert refused(_zip(parts), "list.xlsx").code == "broken_file"


def test_csv_with_an_unclosed_quote_over_a_huge_field_is_broken_file():
    data = csv_bytes(employees(1)) + b'"' + b"x" * 200_000 + b"\r\n"
    error = refused(data, "list.csv")
    assert error.code == "broken_file"
    assert "кавычки" in error.message


def test_a_refusal_survives_pickling_with_its_code_status_and_details():
    error = refused(csv_bytes(employees(1), headers=HEADERS[:3], fields=FIELDS[:3]), "list.csv")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes; RQ carries exceptions by pickle
    assert (copy.code, copy.status, copy.message, copy.details) == (
        "missing_columns", 422, error.message, ("birth_date", "position", "enp", "email"))


def test_report_of_a_refused_file_raises_the_same_refusal():
    with pytest.raises(EmployeeFileError) as caught:
        problems_report_xlsx(EXE, "list.xlsx", read_employee_list(csv_bytes(employees(1)), "list.csv"))
    assert caught.value.code == "invalid_format"
