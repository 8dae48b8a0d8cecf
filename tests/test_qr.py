"""The QR code's modules are segno's, module for module: only the choice of mask is computed faster.

``qr_matrix`` scores the eight masks on whole rows with segno's penalty rules; a wrong score would
pick another mask and print a different (still readable, but not segno's) symbol, so the matrices
are compared for payloads of every QR version the service can produce and beyond.
"""

from __future__ import annotations

import random
import string
import subprocess

import pytest
import segno

from tasks.documents.qr import PIXELS_PER_MODULE, QUIET_ZONE, qr_image, qr_matrix


def _payloads() -> list[str]:
    rng = random.Random(19)
    alphabet = string.ascii_letters + string.digits + "-_"
    payloads = [f"https://oms.example.ru/verify/2026-{rng.randrange(10**6):06d}-{rng.randrange(1, 9)}"
                f"?code={''.join(rng.choice(alphabet) for _ in range(12))}" for _ in range(60)]
    payloads += ["".join(rng.choice(string.printable[:94]) for _ in range(rng.randrange(1, 900))) for _ in range(40)]
    payloads += ["otpauth://totp/Оператор%20№%2012:ivanova?secret=JBSWY3DPEHPK3PXP&issuer=ОМС", "0", "A" * 25]
    return payloads


@pytest.mark.parametrize("payload", _payloads())
def test_the_matrix_is_segno_s(payload):
    expected = segno.make_qr(payload, error="m", boost_error=False)
    assert [bytes(row) for row in qr_matrix(payload)] == [bytes(row) for row in expected.matrix]


def test_the_image_decodes_to_the_payload_with_its_quiet_zone(tmp_path):
    url = "https://oms.example.ru/verify/2026-000123-1?code=Ngj97tNpePal"
    image = qr_image(url)
    modules = len(qr_matrix(url)) + 2 * QUIET_ZONE
    assert image.mode == "L" and image.size == (modules * PIXELS_PER_MODULE,) * 2
    assert image.getpixel((0, 0)) == 255  # the quiet zone is white
    image.save(tmp_path / "qr.png")
    out = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "qr.png")], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    assert out.splitlines() == [url]
