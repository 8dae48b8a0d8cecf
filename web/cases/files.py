"""Files of a case: uploads, the stored certificate and the receipt rendered from the submitted data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

from flask import Response, request, send_file
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from tasks.cases.catalogue import service_of_process
from tasks.cases.certificates import certificate_number
from tasks.cases.decisions import refusal_of, refusal_path
from tasks.cases.models.cases import Application, Certificate, Document, RefusalDecision
from tasks.cases.queries import REFUSAL_SHOWN, case_status, documents_of
from tasks.cases.storage import FileStore
from tasks.cases.submission import FoundCase, applicant_name, find_case
from tasks.cases.uploads import DOCUMENT_KINDS, UploadRejected, check_upload, read_limited
from tasks.config import AppConfig
from tasks.documents.receipt import AttachedDocument, ReceiptData, render_receipt
from tasks.errors import ApiError

from .access import field_error, record_view


def add_document(session: Session, config: AppConfig, *, owner_id: int, application: Application | None,
                 kind: str, filename: str, data: bytes, draft_id: int | None = None) -> Document:
    checked = check_upload(data)
    key = FileStore(config.uploads_dir).put(checked.data, "documents", checked.suffix)
    doc = Document(owner_id=owner_id, application_id=application.id if application else None, draft_id=draft_id,
                   kind=kind, filename=_safe_name(filename), content_type=checked.content_type,
                   size=len(checked.data), sha256=checked.sha256, storage_key=key, uploaded_at=utcnow())
    session.add(doc)
    session.flush()
    if application is not None and application.instance_id:
        journal.record(session, application.instance_id, "document_added", actor=f"user:{owner_id}",
                       message=f"Добавлен документ: {DOCUMENT_KINDS[kind]} ({doc.filename})")
    return doc


def forget_documents(session: Session, config: AppConfig, ids: list[int]) -> None:
    """Undo stored uploads (their files and rows) when the action they came with was refused at the last moment."""
    store = FileStore(config.uploads_dir)
    for doc in [session.get(Document, i) for i in ids]:
        if doc is not None:
            store.path(doc.storage_key).unlink(missing_ok=True)
            session.delete(doc)
    session.commit()


def _safe_name(name: str) -> str:
    """Only for display and download names: path parts and control characters removed."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|')
    return cleaned[:200] or "document"


def certificate_file(config: AppConfig, found: FoundCase) -> tuple[Path | None, Certificate | None]:
    """The stored certificate of a ready case, from what `find_case` read with it (its status and certificate)."""
    app, cert = found.application, found.certificate
    if found.status != "ready":
        return None, None
    if cert is None or cert.number != certificate_number(app):
        return None, None
    return FileStore(config.documents_dir).path(cert.storage_key), cert


def refusal_file(session: Session, config: AppConfig,
                 app: Application) -> tuple[Path | None, RefusalDecision | None]:
    """The stored refusal decision of the current attempt while it stands (refused, appealed or closed)."""
    if case_status(session, app) not in REFUSAL_SHOWN:
        return None, None
    decision = refusal_of(session, app)
    if decision is None:
        return None, None
    return refusal_path(config, decision), decision


CasePdf = Literal["certificate", "decision"]
Missing = TypeVar("Missing")


def case_pdf_response(session: Session, config: AppConfig, app: Application, which: CasePdf, *,
                      attachment: bool, missing: Callable[[], Missing],
                      found: FoundCase | None = None) -> Response | Missing:
    """The case's certificate or refusal decision as a PDF, its reading journaled; ``missing()`` when there is none.

    One place decides the download name and the journal event, so the page and the API serve the same
    file under the same name; the caller only says how to answer the 409 (page or JSON). `found`: the case's
    status and certificate, when the caller read them with it (`find_case`).
    """
    if which == "certificate":
        path, cert = certificate_file(config, found or find_case(session, app.number))
        prefix = "reestr-oms" if cert is not None and cert.kind == "register" else "spravka-oms"
        name, event = (f"{prefix}-{cert.number}.pdf" if cert else ""), "certificate_downloaded"
    else:
        path, _ = refusal_file(session, config, app)
        name, event = f"reshenie-ob-otkaze-{app.number}.pdf", "decision_downloaded"
    if path is None:
        return missing()
    record_view(app, event)
    return send_file(path, mimetype="application/pdf", as_attachment=attachment, download_name=name)


def receipt_response(session: Session, config: AppConfig, app: Application) -> Response:
    """The receipt as a download; reading it is journaled like any access to the case's personal data."""
    record_view(app, "receipt_downloaded")  # commits first: no transaction stays open while the PDF renders
    pdf = receipt_pdf(session, config, app)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="zayavlenie-{app.number}.pdf"'})


def receipt_pdf(session: Session, config: AppConfig, app: Application) -> bytes:
    period = app.data.get("period")  # services other than the certificate ask for no period
    docs = tuple(AttachedDocument(DOCUMENT_KINDS.get(d.kind, d.kind), d.filename, d.size)
                 for d in documents_of(session, app))
    service = service_of_process(app.process_id)
    return render_receipt(ReceiptData(
        number=app.number, submitted_at=aware(app.submitted_at), applicant_name=applicant_name(app.data),
        period_from=date.fromisoformat(period["from"]) if period else None,
        period_to=date.fromisoformat(period["to"]) if period else None,
        documents=docs, **({"service_name": service.receipt_title or service.title} if service else {})), config)


def api_upload(session: Session, config: AppConfig, *, owner_id: int, application: Application | None) -> Document:
    """The request's multipart `file` of `kind`, checked by content and stored: both JSON upload routes
    (to a case, and before applying) answer the same problems the same way."""
    kind = request.form.get("kind", "other")
    if kind not in DOCUMENT_KINDS:
        raise ApiError(422, "validation_failed", "Неизвестный вид документа.",
                       [field_error("kind", "enum", "Выберите вид документа из списка")])
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(422, "validation_failed", "Приложите файл.", [field_error("file", "required", "Выберите файл")])
    try:
        return add_document(session, config, owner_id=owner_id, application=application, kind=kind,
                            filename=upload.filename or "document", data=read_limited(upload.stream))
    except UploadRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


def document_json(doc: Document) -> dict:
    return {"id": doc.id, "kind": doc.kind, "filename": doc.filename, "content_type": doc.content_type,
            "size": doc.size}
