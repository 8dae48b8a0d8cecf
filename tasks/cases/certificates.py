"""Issuing certificates (rendered once, stored) and verifying them, and registers, by number and code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.db import Database
from tasks.config import AppConfig
from tasks.documents.certificate import CertificateData, render_certificate
from tasks.verification import check_code

from .issued import application_and_issued, store_issued
from .models.cases import Application, Certificate

ISSUER = "Территориальный фонд обязательного медицинского страхования"
OFFICIAL_NAME = "Иванова Мария Петровна"
OFFICIAL_POSITION = "Начальник отдела организации ОМС"


def certificate_number(app: Application) -> str:
    return f"{app.number}-{app.attempt}"


def mask_name(last_name: str, first_name: str, middle_name: str | None, *, keep_last_name: bool = False) -> str:
    """«И***** И. И.» shows enough to recognise one's own certificate and no more (152-FZ).

    `keep_last_name` gives «Иванов И. И.»: what staff see in a task list before they open the case.
    """
    initials = " ".join(f"{part[0]}." for part in (first_name, middle_name) if part)
    surname = last_name if keep_last_name else f"{last_name[0]}{'*' * max(1, len(last_name) - 1)}"
    return f"{surname} {initials}".strip()


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def build_certificate_data(app: Application, policy: dict[str, Any], issued_at: datetime) -> CertificateData:
    person, period = app.data["person"], app.data["period"]
    insurer = policy.get("insurer") or {}
    return CertificateData(
        number=certificate_number(app), issued_at=issued_at, last_name=person["last_name"],
        first_name=person["first_name"], middle_name=person.get("middle_name"),
        birth_date=date.fromisoformat(person["birth_date"]), enp=policy["enp"],
        insurer_name=insurer.get("name", ""), insurer_code=insurer.get("code", ""), region=policy.get("region", ""),
        period_from=date.fromisoformat(period["from"]), period_to=date.fromisoformat(period["to"]),
        policy_valid_from=_date(policy.get("valid_from")), policy_valid_to=_date(policy.get("valid_to")),
        policy_status=policy.get("status"), official_name=OFFICIAL_NAME,
        official_position=OFFICIAL_POSITION, organisation=ISSUER,
    )


def issue_certificate(db: Database, config: AppConfig, number: str, policy: dict[str, Any]) -> Certificate:
    """Render and store the certificate once; a re-run job gets the stored one (tasks/cases/issued.py)."""
    app, existing = application_and_issued(db, Certificate, number, certificate_number)
    if existing is not None:
        return existing
    issued_at = utcnow()
    data = build_certificate_data(app, policy, issued_at)

    def row(key: str, digest: str) -> Certificate:
        return Certificate(
            number=data.number, application_id=app.id,
            holder_masked=mask_name(data.last_name, data.first_name, data.middle_name),
            data={"enp": data.enp, "insurer": {"name": data.insurer_name, "code": data.insurer_code},
                  "region": data.region},
            period_from=data.period_from, period_to=data.period_to, storage_key=key,
            sha256=digest, issued_at=issued_at, revoked=False,
        )

    return store_issued(db, config, Certificate, data.number, "certificates", render_certificate(data, config), row)


@dataclass(frozen=True)
class Verification:
    valid: bool
    status: str  # valid | expired | revoked | not_found
    certificate: Certificate | None


def verify_certificate(session: Session, config: AppConfig, number: str, code: str | None,
                       today: date) -> Verification:
    """A wrong code answers exactly like an unknown number, so numbers cannot be probed.

    An organisation's register is a certificate row of kind "register" and is verified the same way;
    callers tell the two apart by `certificate.kind` (tasks/cases/registers.py: is_register)."""
    cert = session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None or not check_code(config.secret_key, number, code):
        return Verification(False, "not_found", None)
    if cert.revoked:
        return Verification(False, "revoked", cert)
    if cert.period_to < today:
        return Verification(True, "expired", cert)
    return Verification(True, "valid", cert)
