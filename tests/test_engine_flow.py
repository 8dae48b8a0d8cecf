"""The demo diagram end to end with real worker and scheduler processes.

service task -> lane task with an interrupting SLA timer -> message catch -> service task with an
error boundary -> manual path; on PostgreSQL + Redis and on SQLite + embedded Redis.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import aware
from engine.errors import Conflict, UndeliverableMessage
from tests.support.backend import wait_for
from tests.support.clock import advance_clock_to
from tests.support.queries import calls, events, open_task


def _key() -> str:
    return f"T-{uuid.uuid4().hex[:8]}"


def test_happy_path_service_lane_message(backend, cluster):
    rt = backend.services.runtime
    cluster.worker()
    key = _key()
    info = rt.start("engine_demo", {"applicant": "Иванов", "mode": "ok", "review_sla": "demo_review"},
                    business_key=key, owner="citizen-1")
    review = wait_for(lambda: open_task(backend.services, info.id, "review"), message="review task")
    assert review.role == "operator" and review.lane == "Оператор"
    assert review.instructions == "Проверьте заявку Иванов"
    assert review.form_schema == "review.schema.json"
    # the SLA boundary timer (1 business day) is the task's due date
    due = aware(review.due_at)
    assert datetime.now(UTC) + timedelta(hours=20) < due < datetime.now(UTC) + timedelta(days=5)
    assert rt.instance(info.id).status == "in_review"

    rt.claim(review.id, "operator-1")
    with pytest.raises(Conflict):
        rt.claim(review.id, "operator-2")
    rt.complete_user_task(review.id, {"decision": "approve"}, "operator-1")
    with pytest.raises(Conflict):
        rt.complete_user_task(review.id, {"decision": "approve"}, "operator-1")

    rt.deliver_message("docs_received", key, {"docs": ["scan.pdf"]}, actor="citizen-1")
    wait_for(lambda: rt.instance(info.id).completed, message="instance completion")
    assert rt.instance(info.id).status == "done"
    ev = events(backend.services, info.id)
    assert ev.count("service_completed") == 2
    for expected in ("started", "task_ready", "task_claimed", "task_completed", "message_delivered",
                     "status_changed", "completed"):
        assert expected in ev
    with pytest.raises(UndeliverableMessage):
        rt.deliver_message("docs_received", key, {})


def test_sla_timer_escalates_and_error_boundary_routes_to_manual(backend, cluster):
    rt = backend.services.runtime
    cluster.worker()
    cluster.scheduler()
    key = _key()
    info = rt.start("engine_demo", {"applicant": "Петров", "mode": "fail", "review_sla": "demo_review"},
                    business_key=key)
    review = wait_for(lambda: open_task(backend.services, info.id, "review"), timeout=60, message="the review task")
    advance_clock_to(aware(review.due_at))  # the business day of demo_review passes (tests/support/clock.py)
    escalated = wait_for(lambda: open_task(backend.services, info.id, "escalated"), timeout=60,
                         message="escalation after the 1BD SLA")
    assert escalated.role == "supervisor"
    ev = events(backend.services, info.id)
    assert "timer_fired" in ev and "task_cancelled" in ev
    rt.complete_user_task(escalated.id, {}, "supervisor-1")
    rt.deliver_message("docs_received", key, {})
    manual = wait_for(lambda: open_task(backend.services, info.id, "manual_check"), timeout=60,
                      message="error boundary path")
    fetch_calls = [c for c in calls(backend.services, info.id) if c.operator == "demo.flaky"]
    assert [c.status for c in fetch_calls] == ["failed"]
    assert fetch_calls[0].attempts == 3
    ev = events(backend.services, info.id)
    assert ev.count("service_failed") == 2 and "service_error_raised" in ev
    rt.complete_user_task(manual.id, {}, "operator-1")
    assert rt.instance(info.id).completed


def test_error_boundary_on_a_subprocess_catches_an_inner_service_failure(backend, cluster):
    """Retries used up inside a subprocess raise the BPMN error on the subprocess's boundary event,
    which cancels the subprocess (and its other running service task) and takes the manual path."""
    rt = backend.services.runtime
    cluster.worker()
    cluster.scheduler()
    info = rt.start("subprocess_error", {"mode": "fail"}, business_key=_key())
    manual = wait_for(lambda: open_task(backend.services, info.id, "manual"), timeout=60, message="manual task")
    assert manual.role == "operator"
    assert "service_error_raised" in events(backend.services, info.id)
    assert {c.status for c in calls(backend.services, info.id)} <= {"failed", "done", "cancelled"}
    ok = rt.start("subprocess_error", {"mode": "ok"}, business_key=_key())
    wait_for(lambda: rt.instance(ok.id).completed, timeout=60, message="the happy path to complete")
