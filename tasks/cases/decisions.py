"""Refusal decisions («Решение об отказе»): rendered once per refused attempt, stored, served to the owner.

Issued by a service task of the process (operator ``decisions.issue_refusal``) right after a refusal, so
the PDF exists before the applicant is told about it, and a job that runs twice stores it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import aware, parse_iso, utcnow
from engine.db import Database
from tasks.config import AppConfig
from tasks.documents.refusal import RefusalData, RefusalReason, render_refusal

from .catalogue import wording_of
from .certificates import ISSUER, OFFICIAL_NAME, OFFICIAL_POSITION
from .issued import application_and_issued, store_issued
from .models.cases import Application, RefusalDecision
from .refusal_advice import explain
from .storage import FileStore
from .submission import applicant_name
from .terms import sla_term


def decision_number(app: Application, attempt: int) -> str:
    """2026-000123/1: the case number and the attempt that was refused."""
    return f"{app.number}/{attempt}"


def issue_refusal(db: Database, config: AppConfig, *, number: str, attempt: int, reasons: list[dict[str, Any]],
                  explanation: str | None, reply_until: str,
                  policy_check: dict[str, Any] | None = None) -> RefusalDecision:
    """Render and store the decision once; a re-run job gets the stored one (tasks/cases/issued.py).

    The terms it states (appeal review, decision on a resubmission) come from the SLA catalogue."""
    app, existing = application_and_issued(db, RefusalDecision, number, lambda a: decision_number(a, attempt))
    if existing is not None:
        return existing
    issued_at = utcnow()
    until = parse_iso(reply_until)
    wording = wording_of(app.data)
    data = RefusalData(
        number=decision_number(app, attempt), case_number=app.number, issued_at=issued_at,
        applicant_name=applicant_name(app.data), submitted_at=aware(app.submitted_at),
        reasons=tuple(RefusalReason(r.code, r.label, r.note, r.found, r.advice)
                      for r in explain(reasons, policy_check)),
        explanation=explanation if explanation and explanation not in {r.get("note") for r in reasons} else None,
        reply_until=until, appeal_term=sla_term("appeal_review"), resubmission_term=sla_term("resubmission"),
        organisation=ISSUER,
        official_name=OFFICIAL_NAME, official_position=OFFICIAL_POSITION,
        refused=wording.refused, refused_what=wording.refused_what, goal=wording.goal,
    )

    def row(key: str, digest: str) -> RefusalDecision:
        return RefusalDecision(number=data.number, application_id=app.id, attempt=attempt,
                               reasons=[{"code": r.code, "note": r.note, "found": r.found, "advice": r.advice}
                                        for r in data.reasons],
                               explanation=explanation, reply_until=until, storage_key=key, sha256=digest,
                               issued_at=issued_at)

    return store_issued(db, config, RefusalDecision, data.number, "decisions", render_refusal(data, config), row)


def refusal_of(session: Session, app: Application) -> RefusalDecision | None:
    """The decision refusing the case's current attempt, if that attempt was refused."""
    return session.scalar(select(RefusalDecision).where(RefusalDecision.application_id == app.id,
                                                        RefusalDecision.attempt == app.attempt)
                          .order_by(RefusalDecision.id.desc()).limit(1))


def refusal_path(config: AppConfig, decision: RefusalDecision) -> Path:
    """Where the decision's PDF is stored."""
    return FileStore(config.documents_dir).path(decision.storage_key)

