"""Verification codes printed (as a QR code) on every certificate.

Anyone holding a certificate - an employer, a clinic - can open
``PUBLIC_BASE_URL/verify/<number>?code=<code>`` and see whether the document is genuine and still
valid. The code is an HMAC of the certificate number under ``SECRET_KEY``, so:

* it cannot be computed without the key: a forged paper with a made-up number has no valid code;
* certificate numbers are sequential and therefore guessable, but the verify endpoint checks the
  code before it says anything, so nobody can enumerate insured persons by walking the numbers;
* nothing has to be stored: the code is recomputed from the number on every check.

Length: the code is the first 72 bits of HMAC-SHA256, 12 URL-safe base64 characters. The only attack
left is guessing a code online through the rate-limited verify endpoint; at a million guesses per
second (far beyond what the endpoint admits) one certificate would take ~75 million years on
average (2^71 guesses). Longer codes buy nothing against that and make the QR code denser and
harder to scan from a photocopy. Codes do not reveal the key (HMAC; the default key is 48 random
bytes, see tasks/config.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tasks.config import AppConfig

CODE_BYTES = 9  # 72 bits: a multiple of 3 bytes, so the base64 text has no padding
CODE_LENGTH = 12
# Domain separation: SECRET_KEY also signs sessions and other tokens; a code for a certificate
# number must never be valid as anything else, and vice versa.
_CONTEXT = b"oms-backoffice/certificate-verification/v1\x00"


def verification_code(secret_key: str, number: str) -> str:
    """The short code that proves ``number`` was issued by the holder of ``secret_key``."""
    if not secret_key:
        raise ValueError("secret_key is empty: verification codes would be forgeable")
    # surrogatepass: a number taken from a URL may hold anything; it must get a (wrong) code, not an error.
    message = _CONTEXT + number.encode("utf-8", "surrogatepass")
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:CODE_BYTES]).decode("ascii")


def check_code(secret_key: str, number: str, code: str | None) -> bool:
    """Whether ``code`` is the verification code of ``number``, compared in constant time.

    Bytes are compared (not str) because ``hmac.compare_digest`` rejects non-ASCII str with
    TypeError, and a code comes straight from a URL typed by anyone.
    """
    if not code or len(code) != CODE_LENGTH:
        return False
    expected = verification_code(secret_key, number).encode("ascii")
    return hmac.compare_digest(expected, code.encode("utf-8", "surrogateescape"))


def verification_url(config: AppConfig, number: str) -> str:
    """The address printed in the certificate's QR code and under it.

    The number is percent-encoded so that a number format with "/" or Cyrillic letters still
    yields one path segment; today's numbers (digits and dashes) pass through unchanged.
    """
    code = verification_code(config.secret_key, number)
    return f"{config.public_base_url}/verify/{quote(number, safe='')}?code={code}"
