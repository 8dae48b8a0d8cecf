"""Password hashing with argon2id (argon2-cffi defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10  # as forms/schemas/registration.schema.json says
MAX_LENGTH = 128  # argon2 takes any length; the cap keeps a request from making us hash megabytes

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password
# and response times do not tell which addresses are registered.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown user (None) still pays for one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's; rehash at the next login."""
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """The Russian reason a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Пароль должен содержать не менее {MIN_LENGTH} символов."
    if len(password) > MAX_LENGTH:
        return f"Пароль должен содержать не более {MAX_LENGTH} символов."
    if password.strip() != password:
        return "Пароль не должен начинаться или заканчиваться пробелом."
    return None
