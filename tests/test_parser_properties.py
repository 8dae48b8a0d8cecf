"""Property tests of the parsers that read what people send: identifiers, the employees CSV/XLSX list,
BPMN/DMN uploads and the API's JSON reader. Any input gives an answer (a problem, a refusal of the whole
file, validation problems), never an unexpected exception; valid values built by their rules are accepted and a wrong
check digit is caught. Bounded (small max_examples, no example database) for CI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from stdnum import luhn

from engine.validation import Source, ValidationContext, run_validation
from forms import identifiers
from forms.employees.columns import COLUMNS
from forms.employees.errors import EmployeeFileError
from forms.employees.reader import read_employee_list
from web.request_parsing import PARAM_MAX, PARAM_MIN, JsonLimitError, SafeJSONProvider

BOUNDED = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
CHECKERS = (identifiers.check_snils, identifiers.check_inn, identifiers.check_ogrn, identifiers.check_ogrnip,
            identifiers.check_enp, identifiers.check_kpp, identifiers.check_bik, identifiers.check_passport_series,
            identifiers.check_passport_number, identifiers.check_division_code, identifiers.check_phone)
digits = st.text(alphabet="0123456789", min_size=1)


def _other_digit(d: str, offset: int) -> str:
    return str((int(d) + offset) % 10)


# ------------------------------------------------------------------ identifiers
@BOUNDED
@given(st.text(max_size=40))
def test_any_text_gives_a_problem_or_passes_never_an_exception(text: str) -> None:
    for check in CHECKERS:
        problem = check(text)
        assert problem is None or (problem.code and problem.message)


@BOUNDED
@given(st.integers(min_value=1_001_999, max_value=999_999_999), st.integers(min_value=1, max_value=9))
def test_snils_built_by_its_rule_passes_and_a_changed_check_digit_fails(number: int, offset: int) -> None:
    first9 = f"{number:09d}"
    snils = first9 + identifiers.snils_check_digits(first9)
    assert identifiers.check_snils(snils) is None
    assert identifiers.check_snils(f"{snils[:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}") is None  # as printed
    assert identifiers.check_snils(snils[:10] + _other_digit(snils[10], offset)).code == "checksum"


@BOUNDED
@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(min_value=1, max_value=9))
def test_enp_with_its_luhn_digit_passes_and_another_fails(body: str, offset: int) -> None:
    enp = body + luhn.calc_check_digit(body)
    assert identifiers.check_enp(enp) is None
    assert identifiers.check_enp(enp[:15] + _other_digit(enp[15], offset)).code == "checksum"


@BOUNDED
@given(st.integers(min_value=10**11, max_value=10**12 - 1), st.integers(min_value=1, max_value=9))
def test_ogrn_check_digit(first12: int, offset: int) -> None:
    ogrn = f"{first12}{first12 % 11 % 10}"
    assert identifiers.check_ogrn(ogrn) is None
    assert identifiers.check_ogrn(ogrn[:12] + _other_digit(ogrn[12], offset)).code == "checksum"


@BOUNDED
@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(min_value=1, max_value=9))
def test_inn_of_an_organisation_check_digit(first9: str, offset: int) -> None:
    check = sum(int(d) * w for d, w in zip(first9, (2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
    inn = f"{first9}{check}"
    assert identifiers.check_inn(inn) is None
    assert identifiers.check_inn(inn[:9] + _other_digit(inn[9], offset)).code == "checksum"


@BOUNDED
@given(digits.filter(lambda d: len(d) != 4), digits.filter(lambda d: len(d) != 6))
def test_passport_series_and_number_of_a_wrong_length_are_refused(series: str, number: str) -> None:
    assert identifiers.check_passport_series(series) is not None
    assert identifiers.check_passport_number(number) is not None


# ------------------------------------------------------------------ the employees list
def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS.values()), delimiter=";")
    writer.writeheader()
    writer.writerows({COLUMNS[k]: v for k, v in row.items()} for row in rows)
    return out.getvalue().encode("utf-8")


def _read(data: bytes, name: str) -> None:
    try:
        result = read_employee_list(data, name)
    except EmployeeFileError as exc:  # the whole file refused, with a code and a message for people
        assert exc.code and exc.message and exc.status in (413, 415, 422)
    else:
        assert result.total_rows >= len(result.rows)


@FEW
@given(st.binary(max_size=2000), st.sampled_from(["list.csv", "list.xlsx", "list.txt"]))
def test_any_bytes_as_an_employee_file_are_read_or_refused_as_a_whole(data: bytes, name: str) -> None:
    _read(data, name)


cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@FEW
@given(st.lists(st.fixed_dictionaries({field: cell for field in COLUMNS}), min_size=1, max_size=8))
def test_any_cells_under_the_right_headers_give_row_problems_not_exceptions(rows: list[dict[str, str]]) -> None:
    _read(_csv(rows), "list.csv")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS.values()))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


xlsx_cell = st.one_of(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=20),
                      st.integers(min_value=-10**12, max_value=10**17),
                      st.floats(allow_nan=False, allow_infinity=False), st.dates(), st.none())


@FEW
@given(st.lists(st.lists(xlsx_cell, min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1, max_size=6))
def test_any_cells_of_a_workbook_give_row_problems_not_exceptions(rows: list[list[object]]) -> None:
    _read(_xlsx(rows), "list.xlsx")


# ------------------------------------------------------------------ BPMN/DMN uploads
PRODUCT_BPMN = (WORKFLOWS / "certificate_individual.bpmn").read_bytes()
PRODUCT_DMN = (WORKFLOWS / "certificate_decision.dmn").read_bytes()


def _problems(name: str, content: bytes) -> list:
    return run_validation([Source(name, content)], ValidationContext()).problems


@FEW
@given(st.integers(min_value=1, max_value=len(PRODUCT_BPMN) - 1), st.sampled_from([b"", b"<", b"&x;", b"\xff", b">"]))
def test_a_cut_or_garbled_diagram_gives_problems_not_exceptions(cut: int, garbage: bytes) -> None:
    problems = _problems("broken.bpmn", PRODUCT_BPMN[:cut] + garbage)
    assert problems and all(p.code and p.message for p in problems)


@FEW
@given(st.binary(max_size=500), st.sampled_from(["x.bpmn", "x.dmn"]))
def test_any_bytes_as_a_diagram_give_problems(content: bytes, name: str) -> None:
    assert _problems(name, content)


@FEW
@given(st.integers(min_value=0, max_value=len(PRODUCT_DMN) - 1), st.binary(min_size=1, max_size=8))
def test_bytes_spliced_into_a_decision_table_never_break_the_validation(at: int, splice: bytes) -> None:
    problems = _problems("decision.dmn", PRODUCT_DMN[:at] + splice + PRODUCT_DMN[at:])
    assert all(p.code and p.message for p in problems)


def test_entities_are_not_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&b;</definitions>')
    assert _problems("bomb.bpmn", bomb)


# ------------------------------------------------------------------ the API's JSON reader
json_values = st.recursive(st.none() | st.booleans() | st.integers(PARAM_MIN, PARAM_MAX) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                        max_size=4),
                           max_leaves=15)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(map(_holds_nul, value))
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


@BOUNDED
@given(json_values)
def test_the_json_reader_gives_back_what_was_sent_unless_a_string_holds_nul(value: Any) -> None:
    reader = SafeJSONProvider(Flask(__name__))
    text = json.dumps(value)
    if _holds_nul(value):
        with pytest.raises(JsonLimitError):
            reader.loads(text)
    else:
        assert reader.loads(text) == value
