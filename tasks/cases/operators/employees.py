"""Service-task operators of the organisation process: the employee list, its ЕРЗЛ batches, the register.

`employees.accepted_list` - is an accepted list stored? (the upload may come before the process asks)
`employees.plan_batches`  - take the list for this attempt, split it into batches -> batch numbers
`employees.check_batch`   - one batch against ЕРЗЛ (multi-instance: one instance per batch) -> counts
`registers.issue` / `registers.send` - the register (tasks/cases/registers.py), then its e-mail

Results are small on purpose: numbers and counts, never the employees.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine.context import get_services
from engine.errors import NotFound
from engine.operators import OperatorError, RetryPolicy, operator, tune_operator
from tasks.cases import employee_checks
from tasks.cases.employees import current_list
from tasks.cases.submission import find_application
from tasks.config import MAIL_RETRY, REGISTRY_RETRY, AppConfig
from tasks.registries.batch_policies import EmployeePolicy, PolicyLookupItem, check_policies
from tasks.registries.client import BATCH_LIMIT, ClientSettings, RegistryProtocolError, RegistryUnavailable
from tasks.registries.operators import registry_client

from .certificates import app_config

# The largest batch a diagram may ask for, and the time one batch may take: every ЕРЗЛ request of it
# timing out, plus the database work.
MAX_BATCH = 5000


def batch_timeout(client: ClientSettings) -> float:
    return client.worst_case() * math.ceil(MAX_BATCH / BATCH_LIMIT) + 30


def configure(config: AppConfig) -> None:
    """The configuration's retries, and the batch deadline its registry client's timeouts need."""
    tune_operator("employees.check_batch", retry=config.registry_retry,
                  timeout=batch_timeout(config.registry_client))
    tune_operator("registers.send", retry=config.mail_retry)
CASE_RETRY = RetryPolicy(max_attempts=5, base_delay=1)


@contextmanager
def _case_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise OperatorError("unknown_case", str(exc), retryable=False) from exc


@operator("employees.accepted_list", retry=CASE_RETRY, on_exhausted="incident")
def accepted_list(number: str) -> dict[str, Any]:
    """{accepted, version, count}: whether the case has an accepted employee list now."""
    with _case_errors(), get_services().database.session() as s:
        app = find_application(s, number)
        if app is None:
            raise NotFound(f"case {number} does not exist")
        stored = current_list(s, app.id)
        accepted = stored is not None and stored.status == "accepted"
        return {"accepted": accepted, "version": stored.version if stored else None,
                "count": stored.accepted if accepted else 0}


@operator("employees.plan_batches", retry=CASE_RETRY, on_exhausted="incident")
def plan_batches(number: str, attempt: int, batch_size: int) -> dict[str, Any]:
    """{accepted, batches: [0..n-1], total, version}; accepted=False when there is no accepted list."""
    if not 1 <= int(batch_size) <= MAX_BATCH:
        raise OperatorError("bad_batch_size", f"batch_size must be 1..{MAX_BATCH}", retryable=False)
    with _case_errors():
        plan = employee_checks.plan_batches(get_services().database, number=number, attempt=int(attempt),
                                            batch_size=int(batch_size))
    return {"accepted": plan.accepted, "batches": plan.batches, "total": plan.total, "version": plan.version}


def _lookup(items: list[PolicyLookupItem], period: dict | None) -> list[EmployeePolicy]:
    try:
        return check_policies(registry_client(), items, period)
    except RegistryUnavailable as exc:  # the case waits: retried for as long as ЕРЗЛ is down
        raise OperatorError(exc.code, str(exc), retryable=True) from exc
    except RegistryProtocolError as exc:
        raise OperatorError("registry_protocol_error", str(exc), retryable=False) from exc


@operator("employees.check_batch", retry=REGISTRY_RETRY, on_exhausted="incident",
          timeout=batch_timeout(ClientSettings()))
def check_batch(number: str, attempt: int, batch: int) -> dict[str, int]:
    """{batch, checked, insured, not_insured} of one batch; the results go to the employee table."""
    try:
        with _case_errors():
            return employee_checks.check_batch(get_services().database, _lookup, number=number,
                                               attempt=int(attempt), batch=int(batch))
    except employee_checks.StaleBatch as exc:
        raise OperatorError("stale_batch", str(exc), retryable=False) from exc


@operator("registers.issue", retry=RetryPolicy(max_attempts=5, base_delay=2), on_exhausted="incident", timeout=300)
def issue(number: str) -> dict[str, Any]:
    """Render and store the case's register once (every employee with the latest ЕРЗЛ result)."""
    from tasks.cases.registers import issue_register

    db = get_services().database
    with _case_errors():
        with db.session() as s:
            app = find_application(s, number)
            if app is None:
                raise NotFound(f"case {number} does not exist")
            rows = employee_checks.register_rows(s, app.id)
        if not rows:
            raise OperatorError("no_employees", "the case has no employees to list", retryable=False)
        register = issue_register(db, app_config(), number, rows)
    return {"number": register.number, "issued_at": register.issued_at.isoformat(), "employees": len(rows)}


@operator("registers.send", retry=MAIL_RETRY, on_exhausted="incident", timeout=120)
def send(number: str) -> dict[str, Any]:
    """Mail the register (PDF and XLSX) to the organisation's e-mail."""
    from tasks.cases.registers import send_register

    with _case_errors():
        send_register(get_services().database, app_config(), number)
    return {"sent": True}
