"""Service-task operators of the certificate processes: issue the certificate, notify the applicant."""

from __future__ import annotations

from functools import cache
from typing import Any

from engine.context import get_services
from engine.operators import OperatorError, RetryPolicy, operator
from tasks.config import AppConfig
from tasks.mail import MailError
from web.accounts.models import User

from .certificates import issue_certificate
from .notifications import notify_status
from .submission import find_application

# SMTP outages last minutes to hours: keep trying (capped at 10 minutes apart) rather than lose mail.
MAIL_RETRY = RetryPolicy(max_attempts=200, base_delay=5, factor=2, max_delay=600)


@cache
def app_config() -> AppConfig:
    return AppConfig.from_env(settings=get_services().settings)


@operator("certificates.issue", retry=RetryPolicy(max_attempts=5, base_delay=2), on_exhausted="incident",
          timeout=60)
def issue(number: str, policy: dict[str, Any]) -> dict[str, Any]:
    if not policy or not policy.get("enp"):
        raise OperatorError("no_policy", "no policy data to print on the certificate", retryable=False)
    try:
        cert = issue_certificate(get_services().database, app_config(), number, policy)
    except LookupError as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc
    return {"number": cert.number, "issued_at": cert.issued_at.isoformat()}


@operator("notify.case_status", retry=MAIL_RETRY, on_exhausted="incident", timeout=60)
def case_status(number: str, status: str, reasons: list[dict[str, Any]] | None = None,
                message: str | None = None) -> dict[str, Any]:
    with get_services().database.session() as s:
        app = find_application(s, number)
        if app is None:
            raise OperatorError("unknown_case", f"case {number} does not exist", retryable=False)
        user = s.get(User, app.owner_id)
        to, name = user.email, (user.first_name or user.full_name)
    try:
        notify_status(app_config(), to=to, number=number, name=name, status=status, reasons=reasons,
                      message=message)
    except MailError as exc:
        raise OperatorError("mail_failed", str(exc)) from exc
    return {"sent_to": to, "status": status}
