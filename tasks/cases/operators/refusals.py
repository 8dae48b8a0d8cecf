"""Service-task operators of rejection, resubmission and appeals (the certificate and every notice,
including the appeals specialist's reminder, live in operators.py): the refusal decision PDF, an
attempt's data, an appeal's outcome."""

from __future__ import annotations

from typing import Any

from engine.context import get_services
from engine.errors import NotFound
from engine.operators import OperatorError, RetryPolicy, operator
from tasks.cases import appeals
from tasks.cases.decisions import issue_refusal
from tasks.cases.resubmission import record_attempt

from .certificates import app_config


@operator("decisions.issue_refusal", retry=RetryPolicy(max_attempts=5, base_delay=2), on_exhausted="incident",
          timeout=60)
def refusal(number: str, attempt: int, reasons: list[dict[str, Any]], explanation: str | None,
            reply_until: str, policy_check: dict[str, Any] | None = None) -> dict[str, Any]:
    """Render and store the «Решение об отказе» of this attempt (once). The result's `reasons` carry what
    was found and the advice (tasks/cases/refusal_advice.py), for the refusal notice."""
    if not reasons:
        raise OperatorError("no_reasons", "a refusal needs at least one reason", retryable=False)
    services = get_services()
    try:
        decision = issue_refusal(services.database, app_config(), number=number, attempt=int(attempt),
                                 reasons=reasons, explanation=explanation, reply_until=reply_until,
                                 policy_check=policy_check)
    except NotFound as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc
    return {"number": decision.number, "issued_at": decision.issued_at.isoformat(), "reasons": decision.reasons}


@operator("cases.record_attempt", retry=RetryPolicy(max_attempts=5, base_delay=1), on_exhausted="incident")
def attempt(number: str, attempt: int, application: dict[str, Any], comment: str | None = None,
            documents: list[int] | None = None) -> dict[str, Any]:
    """Keep a resubmitted attempt (idempotent: the web request usually stored it already)."""
    try:
        record_attempt(get_services().database, number=number, attempt=int(attempt), application=application,
                       comment=comment, documents=documents or [])
    except NotFound as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc
    return {"attempt": int(attempt)}


@operator("appeals.record_decision", retry=RetryPolicy(max_attempts=5, base_delay=1), on_exhausted="incident")
def appeal_decision(number: str, appeal: dict[str, Any], outcome: str, comment: str | None = None,
                    due_at: str | None = None) -> dict[str, Any]:
    """Record an appeal's outcome in the ``appeal`` table (the case page and the API show it); ``due_at``
    is the due date the diagram set when it registered the appeal (versions from before it passed none)."""
    services = get_services()
    try:
        row = appeals.record_decision(services.database, number=number, appeal=appeal,
                                      due_at=appeals.due_date(due_at, appeal), outcome=outcome,
                                      comment=comment or None)
    except NotFound as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc
    return {"appeal_number": row.number, "outcome": row.outcome}

