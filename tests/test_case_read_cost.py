"""What a citizen's reads of a case cost the web process: the case and its status in one statement, only the
facts its status can show, the certificate's download in three statements, and every read still journaled.

Counted on the app's own engine with SQLAlchemy's events (tests/support/queries.py), for the calling thread
only: a portal client polls its case, so these statements are paid many times per application.
"""

from __future__ import annotations

from engine import journal
from tests.support.accounts import bearer
from tests.support.product import Product
from tests.support.queries import sql_log
from web.extensions import db

# The token with its user; the case with its status, the messages it waits for and its certificate; documents;
# the journal's rows an applicant is shown; appeals; the journal row of the read.
CASE_READ = 6
# The token with its user; the case with the same; the journal row of the download.
CERTIFICATE_DOWNLOAD = 3


def _engine(product: Product):
    with product.app.app_context():
        return db.engine


def _reads(product: Product, instance_id: int) -> list[tuple[str, str | None, str | None]]:
    with product.app.app_context():
        return [(r.event, r.actor, (r.details or {}).get("role")) for r in journal.read(db.session, instance_id)
                if r.event in ("case_viewed", "certificate_downloaded")]


def _instance_id(product: Product, number: str) -> int:
    from tasks.cases.submission import find_application

    with product.app.app_context():
        return find_application(db.session, number).instance_id


def _user_id(product: Product, token: str) -> int:
    return product.client().get("/api/v1/auth/me", headers=bearer(token)).get_json()["id"]


def test_a_case_in_progress_is_read_in_few_statements_and_the_read_is_journaled(product: Product) -> None:
    token = product.citizen_token()
    product.pause()  # the case stays where the POST left it
    try:
        number = product.apply(token, "valid", index=3)["number"]
        client = product.client()
        client.get(f"/api/v1/applications/{number}", headers=bearer(token))  # warms this app's statements
        with sql_log(_engine(product)) as log:
            r = client.get(f"/api/v1/applications/{number}", headers=bearer(token))
    finally:
        product.resume()
    assert r.status_code == 200 and r.get_json()["status"] in ("submitted", "in_progress")
    assert r.get_json()["channel"] == "portal" and "certificate" not in r.get_json()
    assert log.commits == 1, log.report()
    assert len(log.queries) <= CASE_READ, log.report()
    read = " ".join(log.statements)
    for table in ("refusal_decision", "assisted_filing"):  # nothing the status can show
        assert f"FROM {table}" not in read, log.report()
    # Only the journal's rows an applicant is shown: not the growing list of the case's own reads.
    journal_reads = [s for s in log.statements if s.lstrip().startswith("SELECT") and "FROM journal" in s]
    assert len(journal_reads) == 1 and "journal.event IN" in journal_reads[0], log.report()
    user = _user_id(product, token)
    assert _reads(product, _instance_id(product, number)) == [("case_viewed", f"user:{user}", "citizen")] * 2


def test_a_ready_case_and_its_certificate_cost_few_statements_and_are_journaled(product: Product) -> None:
    token = product.citizen_token()
    number = product.apply(token, "valid", index=4)["number"]
    product.wait_status(token, number, "ready")
    client = product.client()
    instance_id = _instance_id(product, number)
    before = len(_reads(product, instance_id))
    with sql_log(_engine(product)) as case_log:
        case = client.get(f"/api/v1/applications/{number}", headers=bearer(token))
    with sql_log(_engine(product)) as pdf_log:
        pdf = client.get(f"/api/v1/applications/{number}/certificate.pdf", headers=bearer(token))
    assert case.status_code == 200 and case.get_json()["certificate"]["number"]
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert case_log.commits == 1 and pdf_log.commits == 1
    assert len(case_log.queries) <= CASE_READ, case_log.report()
    assert "FROM refusal_decision" not in " ".join(case_log.statements), case_log.report()
    assert len(pdf_log.queries) <= CERTIFICATE_DOWNLOAD, pdf_log.report()
    user = f"user:{_user_id(product, token)}"
    assert _reads(product, instance_id)[before:] == [("case_viewed", user, "citizen"),
                                                     ("certificate_downloaded", user, "citizen")]


def test_another_citizens_case_and_certificate_stay_hidden(product: Product) -> None:
    """The one-statement read of the case and its status still answers 404 to anyone but its reader."""
    owner, other = product.citizen_token(), product.citizen_token()
    number = product.apply(owner, "valid", index=5)["number"]
    product.wait_status(owner, number, "ready")
    client = product.client()
    for path in (f"/api/v1/applications/{number}", f"/api/v1/applications/{number}/certificate.pdf"):
        assert client.get(path, headers=bearer(other)).status_code == 404
        assert client.get(path, headers=bearer(owner)).status_code == 200
