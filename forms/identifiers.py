"""Checks for Russian identifiers: СНИЛС, ИНН, ОГРН/ОГРНИП, КПП, БИК, bank accounts, ЕНП, passport.

Every `check_*` function takes the value as a person typed it (separators allowed), returns None
when it is valid and a `Problem` otherwise. A Problem carries a stable English code ("format" for a
wrong shape, "checksum" for a wrong control digit or key) and the Russian message shown next to the
field, so the page, the API and the JSON Schema format checker all say the same precise thing.

python-stdnum is used where it is right (ИНН, Luhn);
ОГРНИП is computed here because stdnum gets remainders >= 10 wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.ru import inn as stdnum_inn

# Separators people type inside numbers: spaces (incl. no-break), hyphens and dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
_KPP = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")
_DIVISION_CODE = re.compile(r"^(\d{3})-?(\d{3})$")
# СНИЛС numbers up to 001-001-998 were issued before the check digit existed.
_SNILS_UNCHECKED_MAX = 1001998
# Bank of Russia units (РКЦ) have БИКs ending in 000-002; their accounts are keyed like a к/с.
_BANK_OF_RUSSIA_SUFFIXES = {"000", "001", "002"}
_ACCOUNT_KEY_WEIGHTS = ((7, 1, 3) * 8)[:23]


# What a wrong check digit means to a person: a typo somewhere in the number (no such number exists).
# The messages say so and where to look the number up; "контрольное число" is jargon nobody reads.
SNILS_TYPO = "Номер СНИЛС введён с ошибкой: сверьте цифры со страховым свидетельством или уведомлением СФР"
INN_TYPO = "ИНН введён с ошибкой: сверьте цифры со свидетельством о постановке на учёт в налоговом органе"
OGRN_TYPO = "ОГРН введён с ошибкой: сверьте цифры с выпиской из ЕГРЮЛ"
OGRNIP_TYPO = "ОГРНИП введён с ошибкой: сверьте цифры с выпиской из ЕГРИП"
ENP_TYPO = "Номер полиса ОМС введён с ошибкой: сверьте 16 цифр с полисом или выпиской о полисе"
ACCOUNT_MISMATCH = ("Расчётный счёт не подходит к этому БИК: ошибка в цифрах счёта или БИК. "
                    "Сверьте их с реквизитами банка")
CORR_ACCOUNT_MISMATCH = ("Корреспондентский счёт не подходит к этому БИК: ошибка в цифрах счёта или БИК. "
                         "Сверьте их с реквизитами банка")


@dataclass(frozen=True)
class Problem:
    """Why a value is not a valid identifier: stable code + Russian message for people."""

    code: str
    message: str


# ------------------------------------------------------------------ normalisers
def strip_separators(value: str) -> str:
    """Drop spaces, hyphens and dashes: «112-233-445 95» -> «11223344595»."""
    return _SEPARATORS.sub("", value)


def normalize_kpp(value: str) -> str:
    """КПП letters (positions 5-6) are Latin capitals; people type them in lower case too."""
    return strip_separators(value).upper()


def normalize_division_code(value: str) -> str:
    """Код подразделения is stored as printed in the passport: NNN-NNN."""
    compact = strip_separators(value)
    if len(compact) == 6 and compact.isdigit():
        return f"{compact[:3]}-{compact[3:]}"
    return value.strip()


def format_snils(value: str) -> str:
    """Display form «112-233-445 95» of an 11-digit СНИЛС (other values are returned as given)."""
    d = strip_separators(value)
    if len(d) != 11 or not d.isdigit():
        return value
    return f"{d[:3]}-{d[3:6]}-{d[6:9]} {d[9:]}"


# ------------------------------------------------------------------ shared helpers
def _digits(value: str, length: int | tuple[int, ...], name: str,
            must: str = "должен") -> tuple[str, Problem | None]:
    """Strip separators and check the value is exactly `length` digits.

    `must` is «должен»/«должна» so that the message agrees with the gender of `name`.
    """
    compact = strip_separators(value)
    lengths = (length,) if isinstance(length, int) else length
    if compact and not (compact.isascii() and compact.isdigit()):
        return compact, Problem("format", f"{name} может содержать только цифры")
    if len(compact) not in lengths:
        counts = " или ".join(str(n) for n in lengths)
        return compact, Problem("format", f"{name} {must} содержать {counts} {_digit_word(lengths[-1])}")
    return compact, None


def _digit_word(n: int) -> str:
    """«цифру / цифры / цифр» agreeing with the number (accusative after «содержать»)."""
    if n % 10 == 1 and n % 100 != 11:
        return "цифру"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return "цифры"
    return "цифр"


# ------------------------------------------------------------------ СНИЛС
def snils_check_digits(first9: str) -> str:
    """Two check digits of a СНИЛС from its first nine digits (weights 9..1, modulo 101)."""
    total = sum(int(d) * w for d, w in zip(first9, range(9, 0, -1), strict=True))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


def check_snils(value: str) -> Problem | None:
    d, problem = _digits(value, 11, "СНИЛС")
    if problem:
        return problem
    if int(d[:9]) <= _SNILS_UNCHECKED_MAX:
        return None
    if d[9:] != snils_check_digits(d[:9]):
        return Problem("checksum", SNILS_TYPO)
    return None


# ------------------------------------------------------------------ ИНН
def check_inn10(value: str) -> Problem | None:
    """ИНН of an organisation: 10 digits, one check digit."""
    d, problem = _digits(value, 10, "ИНН организации")
    if problem:
        return problem
    if d[-1] != stdnum_inn.calc_company_check_digit(d[:9]):
        return Problem("checksum", INN_TYPO)
    return None


def check_inn12(value: str) -> Problem | None:
    """ИНН of a person: 12 digits, two check digits."""
    d, problem = _digits(value, 12, "ИНН физического лица")
    if problem:
        return problem
    if d[-2:] != stdnum_inn.calc_personal_check_digits(d[:10]):
        return Problem("checksum", INN_TYPO)
    return None


def check_inn(value: str) -> Problem | None:
    """Either kind of ИНН, told apart by length."""
    d, problem = _digits(value, (10, 12), "ИНН")
    if problem:
        return problem
    return check_inn10(d) if len(d) == 10 else check_inn12(d)


# ------------------------------------------------------------------ ОГРН / ОГРНИП
def check_ogrn(value: str) -> Problem | None:
    """ОГРН of an organisation: 13 digits, check = first 12 % 11 % 10."""
    d, problem = _digits(value, 13, "ОГРН")
    if problem:
        return problem
    if d[0] == "0":
        return Problem("format", "ОГРН не может начинаться с 0")
    if int(d[-1]) != int(d[:12]) % 11 % 10:
        return Problem("checksum", OGRN_TYPO)
    return None


def check_ogrnip(value: str) -> Problem | None:
    """ОГРНИП: 15 digits, check = first 14 % 13 % 10 (stdnum forgets the final % 10)."""
    d, problem = _digits(value, 15, "ОГРНИП")
    if problem:
        return problem
    if d[0] not in "34":
        return Problem("format", "ОГРНИП начинается с цифры 3 или 4")
    if int(d[-1]) != int(d[:14]) % 13 % 10:
        return Problem("checksum", OGRNIP_TYPO)
    return None


# ------------------------------------------------------------------ КПП, БИК, accounts
def check_kpp(value: str) -> Problem | None:
    """КПП: 9 characters, letters allowed in positions 5-6; it has no check digit."""
    compact = normalize_kpp(value)
    if len(compact) != 9:
        return Problem("format", "КПП должен содержать 9 символов")
    if not _KPP.match(compact):
        return Problem("format", "КПП: 9 цифр, в 5-й и 6-й позициях допускаются латинские буквы")
    return None


def check_bik(value: str) -> Problem | None:
    """БИК: 9 digits. Treasury БИКs do not start with 04, so the prefix is not checked."""
    return _digits(value, 9, "БИК")[1]


def check_account(value: str) -> Problem | None:
    """Shape of a расчётный счёт (20 digits); its key depends on the БИК, see check_account_key."""
    return _digits(value, 20, "Расчётный счёт")[1]


def check_corr_account(value: str) -> Problem | None:
    """Shape of a корреспондентский счёт (20 digits); keyed against the БИК by check_corr_account_key."""
    return _digits(value, 20, "Корреспондентский счёт")[1]


def account_key_valid(prefix3: str, account: str) -> bool:
    """Bank of Russia control key: weights 7,1,3 over 3 prefix digits + 20 account digits."""
    digits = prefix3 + account
    if len(digits) != len(_ACCOUNT_KEY_WEIGHTS) or not (digits.isascii() and digits.isdigit()):
        return False
    total = sum(int(d) * w % 10 for d, w in zip(digits, _ACCOUNT_KEY_WEIGHTS, strict=True))
    return total % 10 == 0


def is_keyed_bik(bik: str) -> bool:
    """Whether accounts at this БИК carry the Bank of Russia control key.

    The key is defined for credit organisations and Bank of Russia units (БИК 04...). Treasury
    БИКs (ТОФК, not starting with 04) serve treasury accounts whose 9th digit is part of the
    account code, so their accounts are checked for shape only.
    """
    return strip_separators(bik).startswith("04")


def check_account_key(bik: str, account: str) -> Problem | None:
    """р/с against the БИК: keyed with БИК digits 7-9 (or «0» + digits 5-6 for a Bank of Russia unit).

    A malformed БИК or account is reported as such, not as a wrong key.
    """
    shape = check_bik(bik) or check_account(account)
    if shape or not is_keyed_bik(bik):
        return shape
    b, a = strip_separators(bik), strip_separators(account)
    prefix = "0" + b[4:6] if b[6:9] in _BANK_OF_RUSSIA_SUFFIXES else b[6:9]
    if not account_key_valid(prefix, a):
        return Problem("checksum", ACCOUNT_MISMATCH)
    return None


def check_corr_account_key(bik: str, corr_account: str) -> Problem | None:
    """к/с against the БИК: keyed with «0» + БИК digits 5-6."""
    shape = check_bik(bik) or check_corr_account(corr_account)
    if shape or not is_keyed_bik(bik):
        return shape
    b, a = strip_separators(bik), strip_separators(corr_account)
    if not account_key_valid("0" + b[4:6], a):
        return Problem("checksum", CORR_ACCOUNT_MISMATCH)
    return None


# ------------------------------------------------------------------ ОМС, passport
def check_enp(value: str) -> Problem | None:
    """ЕНП (single OMS policy number): 16 digits, the last one a Luhn check digit."""
    d, problem = _digits(value, 16, "Номер полиса ОМС")
    if problem:
        return problem
    if not luhn.is_valid(d):
        return Problem("checksum", ENP_TYPO)
    return None


def check_passport_series(value: str) -> Problem | None:
    return _digits(value, 4, "Серия паспорта", "должна")[1]


def check_passport_number(value: str) -> Problem | None:
    return _digits(value, 6, "Номер паспорта")[1]


def check_division_code(value: str) -> Problem | None:
    """Код подразделения: NNN-NNN (the hyphen may be omitted when typing)."""
    if not _DIVISION_CODE.match(value.strip()):
        return Problem("format", "Введите код подразделения в формате 000-000")
    return None


# ------------------------------------------------------------------ phone
_PHONE = re.compile(r"^\+7\d{10}$")


def normalize_phone(value: str) -> str:
    """«8 (999) 123-45-67», «+7 999 123 45 67» -> «+79991234567»; other values only lose separators."""
    compact = re.sub(r"[\s\-()\u2010-\u2015]", "", value)
    if len(compact) == 11 and compact.isdigit() and compact[0] in "78":
        return "+7" + compact[1:]
    return compact


def check_phone(value: str) -> Problem | None:
    """Russian mobile or landline number in international form +7XXXXXXXXXX."""
    if not _PHONE.match(normalize_phone(value)):
        return Problem("format", "Введите номер телефона в формате +7XXXXXXXXXX")
    return None
