"""Russian identifiers, their JSON Schema formats and the date converters, on published examples."""

from __future__ import annotations

from datetime import date

import pytest
from jsonschema import Draft202012Validator
from stdnum.ru import ogrn as stdnum_ogrn

from forms import identifiers as ids
from forms.dates import (
    add_years,
    format_ru_date,
    iso_month_to_ru,
    month_bounds,
    parse_iso_date,
    parse_ru_date,
    ru_month_to_iso,
    ru_to_iso,
)
from forms.formats import IdentifierFormatError, build_format_checker, problem_for


def _code(problem: ids.Problem | None) -> str | None:
    return problem.code if problem else None


# ------------------------------------------------------------------ СНИЛС
@pytest.mark.parametrize(("value", "expected"), [
    ("112-233-445 95", None),                # the official example
    ("11223344595", None),
    ("112 233 445 95", None),
    ("112-233-445 96", "checksum"),          # check off by one
    ("112-233-445 94", "checksum"),
    ("112-233-445 9", "format"),             # 10 digits
    ("112-233-445 955", "format"),           # 12 digits
    ("112-233-44a 95", "format"),            # a letter
    ("", "format"),
    ("001-239-570 99", None),                # weighted sum 99: the check is the sum itself
    ("001-326-679 00", None),                # sum 100 -> 00
    ("001-326-679 10", "checksum"),          # "100" truncated is not accepted
    ("001-508-816 00", None),                # sum 101 -> 00
    ("001-437-545 01", None),                # sum 102 -> 102 % 101 = 01
    ("002-894-641 49", None),                # sum 150 -> 49
    ("017-996-174 00", None),                # sum 201 -> 201 % 101 = 100 -> 00
    ("001-001-998 00", None),                # up to 001-001-998: no check digit
    ("001-001-998 57", None),
    ("000-000-001 13", None),
    ("001-001-999 65", None),                # first checked number: 7+4+27+18+9 = 65
    ("001-001-999 00", "checksum"),
])
def test_snils(value: str, expected: str | None) -> None:
    assert _code(ids.check_snils(value)) == expected


def test_snils_messages_are_specific() -> None:
    assert ids.check_snils("112-233-445 96") == ids.Problem("checksum", ids.SNILS_TYPO)
    assert ids.check_snils("1122334459").message == "СНИЛС должен содержать 11 цифр"
    assert ids.check_snils("112-233-44a 95").message == "СНИЛС может содержать только цифры"


def test_snils_check_digits_and_display() -> None:
    assert ids.snils_check_digits("112233445") == "95"
    assert ids.format_snils("11223344595") == "112-233-445 95"
    assert ids.format_snils("123") == "123"


# ------------------------------------------------------------------ ИНН
@pytest.mark.parametrize(("value", "expected"), [
    ("7707083893", None),                    # ПАО Сбербанк
    ("7707083894", "checksum"),
    ("7707083892", "checksum"),
    ("770708389", "format"),
    ("77070838931", "format"),               # 11 digits is neither kind
    ("77O7083893", "format"),                # Latin O instead of zero
    ("500100732259", None),                  # a valid 12-digit ИНН
    ("500100732258", "checksum"),            # second check digit off by one
    ("500100732269", "checksum"),            # first check digit off by one
    ("5001 0073 2259", None),                # separators are allowed
])
def test_inn_either_kind(value: str, expected: str | None) -> None:
    assert _code(ids.check_inn(value)) == expected


def test_inn_kinds_are_told_apart() -> None:
    assert ids.check_inn10("7707083893") is None
    assert ids.check_inn10("500100732259").message == "ИНН организации должен содержать 10 цифр"
    assert ids.check_inn12("500100732259") is None
    assert ids.check_inn12("7707083893").message == "ИНН физического лица должен содержать 12 цифр"
    assert ids.check_inn("7707083894").message == ids.INN_TYPO
    assert ids.check_inn("123").message == "ИНН должен содержать 10 или 12 цифр"


# ------------------------------------------------------------------ ОГРН / ОГРНИП
@pytest.mark.parametrize(("value", "expected"), [
    ("1027700132195", None),                 # ПАО Сбербанк
    ("1027700132194", "checksum"),
    ("1027700132196", "checksum"),
    ("0027700132195", "format"),             # may not start with 0
    ("102770013219", "format"),
    ("102770013219X", "format"),
])
def test_ogrn(value: str, expected: str | None) -> None:
    assert _code(ids.check_ogrn(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("304500116000180", None),               # remainder 10 -> check 0 (stdnum gets this wrong)
    ("304500116000181", "checksum"),
    ("385768585948949", None),               # remainder 9
    ("385768585948948", "checksum"),
    ("104500116000180", "format"),           # ОГРНИП starts with 3 or 4
    ("30450011600018", "format"),
])
def test_ogrnip(value: str, expected: str | None) -> None:
    assert _code(ids.check_ogrnip(value)) == expected


def test_stdnum_really_rejects_the_valid_ogrnip() -> None:
    """Why ОГРНИП is computed here: if stdnum is ever fixed, this test tells us to reconsider."""
    assert not stdnum_ogrn.is_valid("304500116000180")


# ------------------------------------------------------------------ КПП, БИК
@pytest.mark.parametrize(("value", "expected"), [
    ("773601001", None),
    ("7736AB001", None),                     # letters allowed in positions 5-6
    ("7736ab001", None),                     # typed in lower case
    ("77360100", "format"),
    ("7736010011", "format"),
    ("7736010A1", "format"),                 # a letter outside positions 5-6
    ("A73601001", "format"),
])
def test_kpp(value: str, expected: str | None) -> None:
    assert _code(ids.check_kpp(value)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("044525225", None),                     # ПАО Сбербанк
    ("004525988", None),                     # a treasury (ТОФК) БИК: not 04..., still accepted
    ("04452522", "format"),
    ("0445252250", "format"),
    ("04452522Б", "format"),
])
def test_bik(value: str, expected: str | None) -> None:
    assert _code(ids.check_bik(value)) == expected


# ------------------------------------------------------------------ accounts keyed against the БИК
@pytest.mark.parametrize(("bik", "corr", "expected"), [
    ("044525225", "30101810400000000225", None),          # Сбербанк: the published pair
    ("044525225", "30101810400000000226", "checksum"),
    ("044525225", "30101810500000000225", "checksum"),    # key digit off by one
    ("044030653", "30101810500000000653", None),          # Северо-Западный банк Сбербанка
    ("044030653", "30101810400000000225", "checksum"),    # someone else's к/с (region digits differ)
    ("044525225", "3010181040000000022", "format"),
    ("004525988", "40102810545370000003", None),          # treasury: shape only
])
def test_corr_account_key(bik: str, corr: str, expected: str | None) -> None:
    assert _code(ids.check_corr_account_key(bik, corr)) == expected


@pytest.mark.parametrize(("bik", "account", "expected"), [
    ("044525225", "40702810438000060473", None),           # keyed with БИК digits 7-9 (225)
    ("044525225", "40702810538000060473", "checksum"),
    ("044525225", "4070 2810 4380 0006 0473", None),       # separators allowed
    ("044525000", "40101810400000010001", None),           # Bank of Russia unit: «0» + digits 5-6
    ("044525000", "40101810500000010001", "checksum"),
    ("004525988", "03100643000000017300", None),           # treasury account: no key to check
    ("04452522", "40702810438000060473", "format"),        # a bad БИК is a shape problem, not a key one
])
def test_settlement_account_key(bik: str, account: str, expected: str | None) -> None:
    assert _code(ids.check_account_key(bik, account)) == expected


def test_account_key_messages() -> None:
    assert ids.check_account_key("044525225", "40702810538000060473").message == (
        ids.ACCOUNT_MISMATCH)
    assert ids.check_corr_account_key("044525225", "30101810400000000226").message == (
        ids.CORR_ACCOUNT_MISMATCH)
    assert ids.check_account("4070281043800006047").message == "Расчётный счёт должен содержать 20 цифр"
    assert ids.check_corr_account("3010181040000000022Z").message == (
        "Корреспондентский счёт может содержать только цифры")


# ------------------------------------------------------------------ ЕНП, passport, phone
@pytest.mark.parametrize(("value", "expected"), [
    ("4111111111111111", None),              # the classic Luhn-valid 16-digit number
    ("4111111111111112", "checksum"),
    ("7750110894000052", None),
    ("7750110894000053", "checksum"),
    ("7750 1108 9400 0052", None),
    ("775011089400005", "format"),
    ("77501108940000521", "format"),
])
def test_enp(value: str, expected: str | None) -> None:
    assert _code(ids.check_enp(value)) == expected


@pytest.mark.parametrize(("check", "value", "expected"), [
    (ids.check_passport_series, "4500", None),
    (ids.check_passport_series, "45 00", None),
    (ids.check_passport_series, "450", "format"),
    (ids.check_passport_series, "45А0", "format"),
    (ids.check_passport_number, "123456", None),
    (ids.check_passport_number, "12345", "format"),
    (ids.check_passport_number, "1234567", "format"),
    (ids.check_division_code, "770-001", None),
    (ids.check_division_code, "770001", None),
    (ids.check_division_code, "77-0001", "format"),
    (ids.check_division_code, "770-0011", "format"),
    (ids.check_phone, "+79991234567", None),
    (ids.check_phone, "8 (999) 123-45-67", None),
    (ids.check_phone, "+7999123456", "format"),
    (ids.check_phone, "+19991234567", "format"),
])
def test_passport_and_phone(check, value: str, expected: str | None) -> None:
    assert _code(check(value)) == expected


def test_messages_agree_in_gender() -> None:
    assert ids.check_passport_series("450").message == "Серия паспорта должна содержать 4 цифры"
    assert ids.check_passport_number("12345").message == "Номер паспорта должен содержать 6 цифр"
    assert ids.check_ogrn("1").message == "ОГРН должен содержать 13 цифр"


@pytest.mark.parametrize(("normalize", "value", "expected"), [
    (ids.strip_separators, "112-233-445 95", "11223344595"),
    (ids.strip_separators, "4070\u00a02810–4380", "407028104380"),
    (ids.normalize_kpp, " 7736ab001 ", "7736AB001"),
    (ids.normalize_division_code, "770001", "770-001"),
    (ids.normalize_division_code, "770 001", "770-001"),
    (ids.normalize_division_code, "77-01", "77-01"),
    (ids.normalize_phone, "8 (999) 123-45-67", "+79991234567"),
    (ids.normalize_phone, "+7 999 123 45 67", "+79991234567"),
])
def test_normalizers(normalize, value: str, expected: str) -> None:
    assert normalize(value) == expected


# ------------------------------------------------------------------ JSON Schema formats
@pytest.mark.parametrize(("fmt", "good", "bad", "code"), [
    ("snils", "112-233-445 95", "112-233-445 96", "checksum"),
    ("inn", "7707083893", "7707083894", "checksum"),
    ("inn10", "7707083893", "500100732259", "format"),
    ("inn12", "500100732259", "7707083893", "format"),
    ("ogrn", "1027700132195", "1027700132194", "checksum"),
    ("ogrnip", "304500116000180", "304500116000181", "checksum"),
    ("kpp", "7736AB001", "7736010A1", "format"),
    ("bik", "004525988", "0445252", "format"),
    ("account", "40702810438000060473", "407028104380000604", "format"),
    ("corr-account", "30101810400000000225", "3010181040000000022", "format"),
    ("enp", "4111111111111111", "4111111111111112", "checksum"),
    ("passport-series", "4500", "45000", "format"),
    ("passport-number", "123456", "12345", "format"),
    ("division-code", "770-001", "770-00", "format"),
    ("phone", "+79991234567", "12345", "format"),
    ("email", "name@example.ru", "name@example", "format"),
    ("date", "2024-02-29", "2023-02-29", "format"),
    ("month", "2025-03", "2025-13", "format"),
])
def test_format_checker(fmt: str, good: str, bad: str, code: str) -> None:
    validator = Draft202012Validator({"type": "string", "format": fmt}, format_checker=build_format_checker())
    assert list(validator.iter_errors(good)) == []
    [error] = list(validator.iter_errors(bad))
    assert isinstance(error.cause, IdentifierFormatError)
    assert error.cause.problem.code == code
    assert problem_for(fmt, bad) == error.cause.problem


def test_formats_leave_other_types_to_the_type_keyword() -> None:
    validator = Draft202012Validator({"format": "snils"}, format_checker=build_format_checker())
    assert list(validator.iter_errors(11223344596)) == []


def test_standard_formats_are_kept() -> None:
    validator = Draft202012Validator({"format": "date-time"}, format_checker=build_format_checker())
    assert list(validator.iter_errors("2025-01-01T10:00:00+03:00")) == []


def test_date_format_messages() -> None:
    assert problem_for("date", "2023-02-29").message == "Такой даты нет в календаре: проверьте день и месяц"
    assert problem_for("date", "вчера").message == "Введите дату в формате ГГГГ-ММ-ДД"
    assert problem_for("date", "05.03.1985").message == "Введите дату в формате ГГГГ-ММ-ДД"


# ------------------------------------------------------------------ dates
@pytest.mark.parametrize(("text", "expected"), [
    ("05.03.1985", date(1985, 3, 5)),
    ("5.3.1985", date(1985, 3, 5)),
    (" 29.02.2024 ", date(2024, 2, 29)),
    ("29.02.2023", None),
    ("31.04.2020", None),
    ("1985-03-05", None),
    ("05/03/1985", None),
    ("", None),
])
def test_parse_ru_date(text: str, expected: date | None) -> None:
    assert parse_ru_date(text) == expected


def test_date_conversions() -> None:
    assert ru_to_iso("05.03.1985") == "1985-03-05"
    assert ru_to_iso("1985-03-05") == "1985-03-05"
    assert ru_to_iso(" 31.02.2020 ") == "31.02.2020"      # kept for validation to report
    assert format_ru_date("1985-03-05") == "05.03.1985"
    assert format_ru_date(date(2001, 12, 9)) == "09.12.2001"
    assert format_ru_date("не дата") == "не дата"
    assert parse_iso_date("2024-02-30") is None
    assert ru_month_to_iso("3.2025") == "2025-03"
    assert ru_month_to_iso("13.2025") == "13.2025"
    assert iso_month_to_ru("2025-03") == "03.2025"


def test_calendar_helpers() -> None:
    assert add_years(date(2008, 2, 29), 14) == date(2022, 2, 28)
    assert add_years(date(1985, 3, 5), 14) == date(1999, 3, 5)
    assert month_bounds(date(2024, 2, 1)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_bounds(date(2025, 12, 1)) == (date(2025, 12, 1), date(2025, 12, 31))


# ------------------------------------------------------------------ what a wrong check digit says
@pytest.mark.parametrize(("problem", "says"), [
    (ids.check_snils("112-233-445 96"), "Номер СНИЛС введён с ошибкой: сверьте цифры"),
    (ids.check_inn("7707083894"), "ИНН введён с ошибкой: сверьте цифры"),
    (ids.check_inn("500100732258"), "ИНН введён с ошибкой: сверьте цифры"),
    (ids.check_ogrn("1027700132194"), "ОГРН введён с ошибкой: сверьте цифры с выпиской из ЕГРЮЛ"),
    (ids.check_ogrnip("304500116000181"), "ОГРНИП введён с ошибкой: сверьте цифры с выпиской из ЕГРИП"),
    (ids.check_enp("1234567890123456"), "Номер полиса ОМС введён с ошибкой: сверьте 16 цифр"),
    (ids.check_account_key("044525225", "40702810538000060473"), "Расчётный счёт не подходит к этому БИК"),
    (ids.check_corr_account_key("044525225", "30101810400000000226"),
     "Корреспондентский счёт не подходит к этому БИК"),
])
def test_a_wrong_check_digit_is_told_in_plain_words(problem: ids.Problem | None, says: str) -> None:
    """The person learns the number was mistyped and where to look it up, not about «контрольное число»."""
    assert problem is not None and problem.code == "checksum"
    assert problem.message.startswith(says)
    assert "контрольн" not in problem.message.lower()
