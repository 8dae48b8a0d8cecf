"""Password hashing with argon2id (argon2-cffi defaults follow RFC 9106's recommendations), and the rules
a new password must pass.

Length alone lets `1234567890` through, so a new password is also refused when it is one of the
common passwords of data/common-passwords.txt.gz (the 20,000 most common passwords of breach
corpora, as shipped by Django under the BSD licence: data/common-passwords-LICENSE.txt) or such a
password with digits and symbols appended (`password2024!`), when it has fewer than four different
characters, or when it contains the person's own e-mail, name or birth date.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10  # as forms/schemas/registration.schema.json says
MAX_LENGTH = 128  # argon2 takes any length; the cap keeps a request from making us hash megabytes
MIN_DISTINCT = 4  # `aaaaaaaaaa`, `1212121212`
MIN_PERSONAL = 3  # shorter names («Ян») are too common inside ordinary words to refuse
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
_SUFFIX = re.compile(r"[\d\W_]+$")  # the digits and symbols people append to a common word
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

COMMON = "Этот пароль слишком распространён, его легко подобрать. Придумайте другой."
TOO_SIMPLE = f"Пароль слишком простой: в нём должно быть не меньше {MIN_DISTINCT} разных символов."
PERSONAL = "Пароль не должен содержать ваш адрес электронной почты, имя, фамилию или дату рождения."

# argon2-cffi's named parameter sets (argon2.profiles): the default is its own default, RFC 9106's
# low-memory recommendation. `CHEAPEST` exists for test suites, where hundreds of accounts are made and a
# hash at the real cost (~0.2 s of CPU) would be most of a test's time.
DEFAULT_PROFILE = "RFC_9106_LOW_MEMORY"
PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")
_profile = DEFAULT_PROFILE
_hasher = PasswordHasher.from_parameters(getattr(profiles, _profile))


def use_profile(name: str) -> None:
    """Hash new passwords with the named argon2-cffi profile (the configuration's PASSWORD_HASH_PROFILE).

    Hashes carry their parameters, so those made under another profile still verify; `needs_rehash`
    tells the login to hash them again with this one."""
    global _hasher, _profile
    if name not in PROFILES:
        raise ValueError(f"unknown password hash profile {name!r}; one of {', '.join(PROFILES)}")
    if name == _profile:
        return
    _hasher, _profile = PasswordHasher.from_parameters(getattr(profiles, name)), name
    _dummy_hash.cache_clear()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password
    and response times do not tell which addresses are registered (made once per profile, on first use)."""
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown user (None) still pays for one verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the profile's; rehash at the next login."""
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """The Russian reason a new password is not acceptable, or None.

    `personal`: the person's e-mail, names and birth date (ISO), which the password must not contain.
    """
    if len(password) < MIN_LENGTH:
        return f"Пароль должен содержать не менее {MIN_LENGTH} символов."
    if len(password) > MAX_LENGTH:
        return f"Пароль должен содержать не более {MAX_LENGTH} символов."
    if password.strip() != password:
        return "Пароль не должен начинаться или заканчиваться пробелом."
    if len(set(password.lower())) < MIN_DISTINCT:
        return TOO_SIMPLE
    if _is_common(password):
        return COMMON
    if _contains_personal(password, personal):
        return PERSONAL
    return None


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased, read once per process (~20,000 entries, about 1.5 MB in memory)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def _is_common(password: str) -> bool:
    lowered = password.lower()
    base = _SUFFIX.sub("", lowered)
    known = common_passwords()
    return lowered in known or (len(base) >= MIN_DISTINCT and base in known)


def _fold(text: str) -> str:
    """Letters and digits only, lower-cased, ё as е: `Ivanova.M@x.ru` and `ivanovam` compare."""
    return re.sub(r"[\W_]", "", text.lower().replace("ё", "е"))


def _personal_fragments(personal: Iterable[str]) -> set[str]:
    fragments: set[str] = set()
    for word in personal:
        if (date := _ISO_DATE.match(word)) is not None:
            year, month, day = date.groups()
            fragments |= {day + month + year, year + month + day, day + month + year[2:], month + day + year}
            continue
        fragments.add(_fold(word))
        if "@" in word:
            fragments.add(_fold(word.split("@", 1)[0]))
    return {f for f in fragments if len(f) >= MIN_PERSONAL}


def _contains_personal(password: str, personal: Iterable[str]) -> bool:
    folded = _fold(password)
    return any(fragment in folded for fragment in _personal_fragments(personal))
