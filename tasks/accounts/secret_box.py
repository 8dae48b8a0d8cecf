"""TOTP secrets sealed at rest: Fernet under a key derived (HKDF-SHA256) from the configured SECRET_KEY.

The server needs a TOTP secret in the clear to compute the codes it checks, so it cannot be hashed; a copy
of the database (a backup, the SQLite file) must still not give away every staff member's second factor.
A stored value starts with ``fernet:``; a value without it is a secret from before migration 0020 and is
read as it is, so logins keep working while the migration has not run yet.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"
_INFO = b"backoffice/totp-secret/v1"  # binds the derived key to this one use of SECRET_KEY


class SecretUnreadable(Exception):
    """A sealed secret that the configured SECRET_KEY does not open (the key was changed)."""


def _fernet(secret_key: str | bytes) -> Fernet:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO).derive(raw)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str | bytes, plain: str) -> str:
    """The value to store for the TOTP secret `plain`."""
    return PREFIX + _fernet(secret_key).encrypt(plain.encode()).decode()


def unseal(secret_key: str | bytes, stored: str) -> str:
    """The TOTP secret behind a stored value (a legacy plain value is returned as it is)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(secret_key).decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("the TOTP secret was sealed under another SECRET_KEY") from exc


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
