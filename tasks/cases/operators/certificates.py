"""Service-task operators of the certificate processes: issue the certificate, notify the applicant."""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import UndefinedError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import get_services
from engine.errors import NotFound
from engine.operators import OperatorError, RetryPolicy, current_call_id, operator, tune_operator
from tasks.accounts.models import User
from tasks.accounts.roles import APPEALS, CASE_WORKERS
from tasks.cases.catalogue import wording_of
from tasks.cases.certificates import issue_certificate
from tasks.cases.mail_recovery import mail_went_out
from tasks.cases.notice_delivery import DeliveryFailed, Recipient, deliver, recipient
from tasks.cases.notifications import STAFF_EVENTS, UnknownEvent, default_event, render_notice
from tasks.cases.submission import find_application_and_owner
from tasks.config import MAIL_RETRY, AppConfig
from tasks.documents.certificate import InconsistentCertificate

log = logging.getLogger(__name__)

MAIL_OPERATORS = ("notify.case_status",)


def configure(config: AppConfig) -> None:
    """The configuration's mail retries (NOTIFY_RETRY_* shorten the pauses for drills and tests)."""
    for name in MAIL_OPERATORS:
        tune_operator(name, retry=config.mail_retry)


def app_config() -> AppConfig:
    """The configuration the worker's entry point installed."""
    from tasks.process import current_config

    return current_config()


@operator("certificates.issue", retry=RetryPolicy(max_attempts=5, base_delay=2), on_exhausted="incident",
          timeout=60)
def issue(number: str, policy: dict[str, Any]) -> dict[str, Any]:
    if not policy or not policy.get("enp"):
        raise OperatorError("no_policy", "no policy data to print on the certificate", retryable=False)
    try:
        cert = issue_certificate(get_services().database, app_config(), number, policy)
    except NotFound as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc
    except InconsistentCertificate as exc:
        # Retrying cannot make the data true: staff must see it now (an incident), the applicant sees
        # the case still in progress (tasks/cases/queries.py: case_status).
        raise OperatorError("inconsistent_certificate", str(exc), retryable=False) from exc
    return {"number": cert.number, "issued_at": cert.issued_at.isoformat()}


@operator("notify.case_status", retry=MAIL_RETRY, on_exhausted="incident", timeout=60)
def case_status(number: str, status: str, reasons: list[dict[str, Any]] | None = None,
                message: str | None = None, event: str | None = None,
                details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tell the applicant (or, for `appeal_reminder`, the appeals staff) about the case `number`.

    `event` picks the template (default: from `status`); `details` carries what the event's text
    needs — tasks/cases/notifications.py lists the events and their keys. Citizens get the notice
    in the portal, by e-mail and, if they opted in, by SMS (tasks/cases/notice_delivery.py: each
    channel once per outbox call, however often the job is retried).
    """
    event = event or default_event(status)
    db = get_services().database
    with db.read_session() as s:  # one statement, no transaction: a notice's first read
        found = find_application_and_owner(s, number)
        if found is None:
            raise OperatorError("unknown_case", f"case {number} does not exist", retryable=False)
        app, owner = found
        instance_id = app.instance_id
        service = wording_of(app.data)
        recipients = _recipients(s, owner, event, details or {})
    config = app_config()
    sent: dict[str, list[str]] = {}
    for who in recipients:
        try:
            notice = render_notice(config, event=event, number=number, name=who.name, status=status, reasons=reasons,
                                   message=message, details=details, service=service)
        except (UnknownEvent, UndefinedError, ValueError) as exc:
            raise OperatorError("bad_notification", f"{event}: {exc}", retryable=False) from exc
        try:
            sent[who.email] = deliver(db, config, call_id=current_call_id(), who=who, notice=notice, number=number,
                                      instance_id=instance_id)
        except DeliveryFailed as exc:
            raise OperatorError(exc.code, str(exc)) from exc
    if any("email" in channels for channels in sent.values()):
        mail_went_out(get_services().runtime)  # the server takes mail: letters waiting for it go now
    citizen = next((r.email for r in recipients if r.citizen), None)
    return {"sent_to": citizen or sorted(sent), "status": status, "event": event}


def _recipients(session: Session, owner: User, event: str, details: dict[str, Any]) -> list[Recipient]:
    """Who gets the notice: the applicant, or for staff events the assignee / every active appeals user."""
    if event not in STAFF_EVENTS:
        return [recipient(owner, citizen=True)]
    query = select(User).where(User.is_active.is_(True), User.role.in_(CASE_WORKERS))
    if details.get("assignee_email"):
        query = query.where(User.email == str(details["assignee_email"]).strip().lower())
    else:
        query = query.where(User.role == APPEALS)
    staff = [recipient(u, citizen=False) for u in session.scalars(query.order_by(User.id))]
    if not staff:
        log.warning("%s: nobody to notify (no active appeals staff%s)", event,
                    f" with e-mail {details['assignee_email']}" if details.get("assignee_email") else "")
    return staff
