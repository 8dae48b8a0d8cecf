"""Every file the product hands a logged-in caller - documents, certificates, receipts, decisions,
registers, analytics exports, process files - is `Cache-Control: no-store, private`, over the
API (Bearer) and on the pages (session), even though Flask's send_file marks files `no-cache` itself.
"""

from __future__ import annotations

import io

from tasks.cases.registers import issue_register
from tests.support.accounts import PASSWORD, add_user, bearer, login
from tests.support.pdf import SCAN_PDF
from tests.support.product import Product
from tests.support.registers import employee, org_application

NO_STORE = "no-store, private"


def _file(response, what: str) -> None:
    assert response.status_code == 200, (what, response.status_code)
    assert response.headers["Cache-Control"] == NO_STORE, (what, response.headers.get("Cache-Control"))
    assert "Expires" not in response.headers, what


def test_every_file_download_is_no_store(product: Product) -> None:
    email = add_user(product.app, "citizen")
    token = product.client().post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    ready = product.apply(token, "valid")["number"]
    refused = product.apply(token, "no_policy")["number"]
    review = product.apply(token, "registry_disagrees")["number"]
    operator = product.staff_token("operator")
    task = product.wait_task(operator, review, "operator_review")
    up = product.client().post(f"/api/v1/applications/{review}/documents", headers=bearer(token),
                               data={"kind": "snils_copy", "file": (io.BytesIO(SCAN_PDF), "снилс.pdf")})
    assert up.status_code == 201, up.get_json()
    doc = up.get_json()["id"]
    product.wait_status(token, ready, "ready")
    product.wait_status(token, refused, "rejected")
    org = org_application(product.backend, email, "hr@romashka.example.ru")
    issue_register(product.backend.services.database, product.app.extensions["backoffice_config"], org,
                   [employee(1), employee(2, insured=False)])

    api = product.client()
    for url in (f"/api/v1/applications/{ready}/certificate.pdf", f"/api/v1/applications/{ready}/receipt.pdf",
                f"/api/v1/applications/{refused}/decision.pdf", f"/api/v1/applications/{review}/documents/{doc}",
                f"/api/v1/applications/{org}/register.pdf", f"/api/v1/applications/{org}/register.xlsx"):
        _file(api.get(url, headers=bearer(token)), url)

    pages = product.client()
    assert login(pages, email).status_code == 302
    for url in (f"/applications/{ready}/certificate.pdf", f"/applications/{ready}/receipt.pdf",
                f"/applications/{refused}/decision.pdf", f"/applications/{review}/documents/{doc}",
                f"/applications/{org}/register.pdf", f"/applications/{org}/register.xlsx"):
        _file(pages.get(url), url)

    staff = product.client()
    assert login(staff, add_user(product.app, "operator")).status_code == 302
    _file(staff.get(f"/inbox/tasks/{task['id']}/documents/{doc}"), "staff preview")
    analyst = product.client()
    assert login(analyst, add_user(product.app, "analyst")).status_code == 302
    _file(analyst.get("/processes/certificate_individual/analytics.csv"), "analytics export")
    listed = product.client().get("/api/v1/processes", headers=bearer(product.staff_token("analyst"))).get_json()
    version = next(p["current_version"] for p in listed if p["id"] == "certificate_individual")
    details = product.client().get(f"/api/v1/processes/certificate_individual/versions/{version}",
                                   headers=bearer(product.staff_token("analyst"))).get_json()
    name = next(iter(details["sources"]))
    _file(analyst.get(f"/processes/certificate_individual/versions/{version}/files/{name}"), "process file")
