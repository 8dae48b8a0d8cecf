"""Retention: the real scheduler, once the product's clock has passed the periods of workflows/sla.toml (a year,
five years), deletes the scans of a closed case and then minimises its personal data, journaling each action;
an open case keeps everything."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import timedelta

from sqlalchemy import select

from engine import journal
from engine.clock import aware
from engine.models import ProcessInstance
from engine.periodic import PeriodicJob, run_periodic
from tasks.cases.models.cases import Application, Document
from tasks.cases.storage import FileStore
from tests.support.accounts import bearer, unique_email
from tests.support.backend import wait_for
from tests.support.images import png
from tests.support.product import Product
from web.extensions import db

FREQUENT = {"RETENTION_INTERVAL": "0.5"}  # retention passes every half second instead of every hour


def _case(product: Product, number: str) -> tuple[Application, list[Document], ProcessInstance]:
    with product.app.app_context():
        app = db.session.scalar(select(Application).where(Application.number == number))
        docs = list(db.session.scalars(select(Document).where(Document.application_id == app.id)))
        inst = db.session.get(ProcessInstance, app.instance_id)
        db.session.expunge_all()
        db.session.rollback()
        return app, docs, inst


def _events(product: Product, instance_id: int) -> list[journal.JournalRecord]:
    with product.app.app_context():
        rows = journal.read(db.session, instance_id)
        db.session.rollback()
        return rows


def _email_of(product: Product, token: str) -> str:
    return product.client().get("/api/v1/auth/me", headers=bearer(token)).get_json()["email"]


def _upload(product: Product, token: str, number: str) -> int:
    r = product.client().post(f"/api/v1/applications/{number}/documents", headers=bearer(token),
                              data={"kind": "passport_copy", "file": (io.BytesIO(png()), "Иванов паспорт.png")})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_scans_then_personal_data_of_closed_cases_go_after_their_periods(product_with) -> None:
    product: Product = product_with(**FREQUENT)
    email = unique_email("citizen")
    token = product.citizen_token(email)
    operator = product.staff_token("operator")
    operator_email = _email_of(product, operator)
    with product.registry.faults_set("erzl:down"):  # under review while the scan is added
        number = product.apply(token, "valid")["number"]
        doc_id = _upload(product, token, number)
    open_number = product.apply(token, "yo_spelling")["number"]  # waits for an operator: stays open
    open_doc = _upload(product, token, open_number)
    product.wait_task(operator, open_number, "operator_review")
    product.wait_status(token, number, "ready")
    wait_for(lambda: _case(product, number)[2].completed, timeout=60, message="the case's process to end")
    uploads = FileStore(product.app.extensions["backoffice_config"].uploads_dir)
    [stored] = _case(product, number)[1]
    path = uploads.path(stored.storage_key)
    assert path.is_file()

    ended = aware(_case(product, number)[2].ended_at)
    product.advance_clock_past(ended + timedelta(days=365))  # retention_scans (P365D) passes
    operator, token = product.login(operator_email, staff=True), product.login(email)  # a year on: new tokens
    wait_for(lambda: _case(product, number)[1][0].erased_at, timeout=60, message="the scan to be deleted")
    assert not path.exists()
    r = product.client().get(f"/api/v1/applications/{number}/documents/{doc_id}", headers=bearer(operator))
    assert r.status_code == 410 and r.get_json()["error"]["code"] == "erased"
    app, _, inst = _case(product, number)
    deleted = [e for e in _events(product, inst.id) if e.event == "scans_deleted"]
    assert [(e.actor, e.details["documents"]) for e in deleted] == [("retention", [doc_id])]

    product.advance_clock_past(ended + timedelta(days=1825))  # then retention_personal_data (P1825D)
    operator, token = product.login(operator_email, staff=True), product.login(email)
    wait_for(lambda: _case(product, number)[0].minimised_at, timeout=60, message="the personal data to be minimised")
    app, [doc], inst = _case(product, number)
    assert set(app.data["person"]) == {"last_name", "first_name"}  # initials only
    assert all(len(v) == 2 and v.endswith(".") for v in app.data["person"].values())
    assert app.snils is None and "passport" not in json.dumps(app.data, ensure_ascii=False)
    assert doc.filename == "passport_copy.png"
    events = [e.event for e in _events(product, inst.id)]
    assert events.count("personal_data_minimised") == 1 and "data_erased" in events
    with product.app.app_context():
        assert product.app.extensions["backoffice"].runtime.workflow_data(inst.id) == {}
    for path in ("", "/audit", "/diagram", "/receipt.pdf"):  # the case still opens for staff, as its record
        r = product.client().get(f"/api/v1/applications/{number}{path}", headers=bearer(operator))
        assert r.status_code == 200, (path, r.status_code)
    view = product.case(token, number)
    assert view["number"] == number and view["status"] == "ready"
    assert view["documents"][0]["erased_at"]
    history = " ".join(entry["message"] for entry in view["journal"])
    assert "Сканы документов удалены" in history and "обезличены" in history
    export = zipfile.ZipFile(io.BytesIO(product.client().get("/api/v1/me/data-export", headers=bearer(token)).data))
    exported = {c["number"]: c for c in json.loads(export.read("data.json"))["applications"]}
    assert exported[number]["documents"][0]["file"] is None

    still_open, [kept], open_inst = _case(product, open_number)  # an open case keeps its data and files
    assert kept.id == open_doc and kept.erased_at is None and uploads.path(kept.storage_key).is_file()
    assert still_open.minimised_at is None and still_open.snils
    assert not {"scans_deleted", "personal_data_minimised"} & {e.event for e in _events(product, open_inst.id)}


def test_a_failing_periodic_job_is_logged_and_the_others_still_run(caplog) -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("disk gone")

    stop = threading.Event()
    jobs = [PeriodicJob("broken", 3600, broken), PeriodicJob("hourly", 3600, lambda: ran.append("hourly"))]
    loop = threading.Thread(target=run_periodic, args=(jobs, stop))
    loop.start()
    try:
        wait_for(lambda: len(ran) >= 2, timeout=10, interval=0.05, message="both jobs' first run")
    finally:
        stop.set()
        loop.join(timeout=10)
    assert ran == ["broken", "hourly"]  # within the hour neither is due again
    assert "periodic job broken failed" in caplog.text
