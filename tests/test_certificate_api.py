"""A citizen's certificate over the JSON API, end to end on real parts (both backends)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests.support.accounts import bearer
from tests.support.product import Product


def pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout


def test_valid_applicant_gets_the_certificate(product: Product) -> None:
    token = product.citizen_token()
    created = product.apply(token, "valid")
    assert created["status"] in ("submitted", "in_progress")
    number = created["number"]
    view = product.wait_status(token, number, "ready")
    assert view["status_label"] == "Готово к скачиванию"
    assert "download_certificate" in view["actions"]
    statuses = [e["message"] for e in view["journal"] if e["event"] == "status_changed"]
    assert statuses[0] == "Статус: «Принято»" and statuses[-1] == "Статус: «Готово к скачиванию»"

    r = product.client().get(f"/api/v1/applications/{number}/certificate.pdf", headers=bearer(token))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = pdf_text(r.data)
    body = product.application_body("valid")
    assert body["policy_number"] in text
    assert body["person"]["last_name"] in text
    year = body["period"]["from"][:4]
    assert f"01.01.{year}" in text and f"31.12.{year}" in text

    cert = view["certificate"]["number"]
    from tasks.verification import verification_code

    ok = product.client().get(f"/api/v1/certificates/{cert}/verify?code={verification_code('test-secret-key', cert)}")
    assert ok.get_json()["valid"] is True and ok.get_json()["status"] == "valid"
    assert "*" in ok.get_json()["holder"]
    forged = product.client().get(f"/api/v1/certificates/{cert}/verify?code=AAAAAAAAAAAA")
    assert forged.get_json() == {"valid": False, "status": "not_found"}
