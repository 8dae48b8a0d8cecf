"""Issuing an organisation's employee register (PDF + XLSX) once per attempt, and mailing it to the employer.

The register is stored as a `certificate` row of kind "register" (see models.Certificate): it is
numbered like a certificate (`<case number>-<attempt>`), its QR code leads to the same verification
page, and tasks/cases/issued.py makes issuing it idempotent - a re-run job finds the stored row and
renders nothing. The XLSX copy is stored first; when a concurrent run stored the row first, the
loser's XLSX is removed just as store_issued removes its PDF.

Sending goes to the organisation's e-mail from the application (the employer, who may not have an
account here) with both files attached, recorded like every notice (notice_delivery.py): at most
once per outbox call, retried without duplicates when the mail server is down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from hashlib import sha256
from pathlib import Path

from sqlalchemy import select

from engine.clock import utcnow
from engine.db import Database
from engine.errors import NotFound
from engine.operators import current_call_id
from tasks.config import AppConfig
from tasks.documents.register import RegisterData, RegisterRow, register_verify_url, render_register_pdf
from tasks.documents.register_xlsx import render_register_xlsx
from tasks.mail import Attachment, MailError, send_mail

from .certificates import ISSUER, OFFICIAL_NAME, OFFICIAL_POSITION, certificate_number
from .issued import application_and_issued, store_issued
from .models.cases import Application, Certificate
from .notice_delivery import DeliveryFailed, Recipient, deliver_once
from .register_mail import register_mail
from .register_verification import KIND
from .storage import FileStore
from .submission import find_application

FOLDER = "registers"
PDF_TYPE = "application/pdf"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAIL_EVENT = "register_sent"
_HOLDER_LENGTH = 200  # certificate.holder_masked


def issue_register(db: Database, config: AppConfig, case_number: str, rows: Iterable[RegisterRow]) -> Certificate:
    """Render and store the case's register for its current attempt; a re-run gets the stored one."""
    app, existing = application_and_issued(db, Certificate, case_number, certificate_number)
    if existing is not None:
        return existing
    data = build_register_data(config, app, list(rows), utcnow())
    store = FileStore(config.documents_dir)
    xlsx = render_register_xlsx(data)
    xlsx_key = store.put(xlsx, FOLDER, ".xlsx")
    pdf = render_register_pdf(data, config)
    totals = data.totals
    org = data.organization

    def row(key: str, digest: str) -> Certificate:
        return Certificate(
            number=data.number, kind=KIND, application_id=app.id, holder_masked=_holder(org.get("name", "")),
            data={"organization": {k: org.get(k) for k in ("name", "inn", "kpp", "ogrn")},
                  "counts": {"total": totals.total, "insured": totals.insured, "not_insured": totals.not_insured}},
            period_from=data.period_from, period_to=data.period_to, storage_key=key, sha256=digest,
            issued_at=data.issued_at, revoked=False, xlsx_storage_key=xlsx_key, xlsx_sha256=sha256(xlsx).hexdigest(),
        )

    stored = store_issued(db, config, Certificate, data.number, FOLDER, pdf, row)
    if stored.xlsx_storage_key != xlsx_key:  # a concurrent run's row won: its files are the register
        store.path(xlsx_key).unlink(missing_ok=True)
    return stored


def build_register_data(config: AppConfig, app: Application, rows: list[RegisterRow],
                        issued_at: datetime) -> RegisterData:
    number = certificate_number(app)
    period = app.data["period"]
    return RegisterData(
        number=number, issued_at=issued_at, organization=dict(app.data["organization"]),
        period_from=date.fromisoformat(period["from"]), period_to=date.fromisoformat(period["to"]), rows=rows,
        verify_url=register_verify_url(config, number), issuer=ISSUER, official_name=OFFICIAL_NAME,
        official_position=OFFICIAL_POSITION,
    )


def _holder(name: str) -> str:
    """The organisation's name as verification shows it (not personal data), cut to the column."""
    return name if len(name) <= _HOLDER_LENGTH else name[:_HOLDER_LENGTH - 1] + "…"


@dataclass(frozen=True)
class RegisterFiles:
    register: Certificate
    pdf: Path
    xlsx: Path


def register_files(db: Database, config: AppConfig, case_number: str) -> tuple[Application, RegisterFiles | None]:
    """The case and its current attempt's stored register with the paths of both files (None if not issued)."""
    with db.session() as s:
        app = find_application(s, case_number)
        if app is None:
            raise NotFound(f"case {case_number} does not exist")
        register = s.scalar(select(Certificate).where(Certificate.number == certificate_number(app),
                                                      Certificate.kind == KIND))
        s.expunge(app)
    if register is None or register.xlsx_storage_key is None:
        return app, None
    store = FileStore(config.documents_dir)
    return app, RegisterFiles(register, store.path(register.storage_key), store.path(register.xlsx_storage_key))


def send_register(db: Database, config: AppConfig, case_number: str) -> None:
    """Mail the register (PDF and XLSX attached) to the organisation's e-mail from the application.

    Raises NotFound when the case or its register does not exist, DeliveryFailed when the mail
    server did not take the message (the job is retried; a retry after success sends nothing).
    """
    app, files = register_files(db, config, case_number)
    if files is None:
        raise NotFound(f"case {case_number} has no register for attempt {app.attempt}")
    org = app.data["organization"]
    mail = register_mail(config, app, files.register)
    register = files.register
    attachments = (
        Attachment(f"reestr-{register.number}.pdf", PDF_TYPE, files.pdf.read_bytes()),
        Attachment(f"reestr-{register.number}.xlsx", XLSX_TYPE, files.xlsx.read_bytes()),
    )
    who = Recipient(user_id=app.owner_id, email=org["email"], name=org["name"], phone=None, sms_opt_in=False,
                    citizen=False)
    call_id = current_call_id()
    key = f"call:{call_id}:{KIND}:{app.owner_id}" if call_id is not None else None
    try:
        deliver_once(db, key, "email", who, app.number, app.instance_id, MAIL_EVENT,
                     lambda: send_mail(config, org["email"], mail.subject, mail.text, attachments=attachments))
    except MailError as exc:
        raise DeliveryFailed("mail_failed", str(exc)) from exc
