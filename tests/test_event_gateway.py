"""An event-based gateway waits for a message and a timer at once; the first to come decides the path.

SpiffWorkflow keeps one waiting task for the gateway, holding both events; the engine must still
store the timer's due time for the scheduler and subscribe the instance to the message.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import aware, utcnow
from engine.errors import UndeliverableMessage
from engine.models import MessageSubscription, Timer
from tests.support.backend import wait_for
from tests.support.clock import advance_clock_to
from tests.support.queries import events


def _waits(services, instance_id: int) -> tuple[list[Timer], list[str]]:
    with services.database.session() as s:
        timers = list(s.scalars(select(Timer).where(Timer.instance_id == instance_id)))
        messages = list(s.scalars(select(MessageSubscription.message_name)
                                  .where(MessageSubscription.instance_id == instance_id)))
    return timers, messages


def test_message_wins_and_the_timer_is_dropped(backend):
    rt = backend.services.runtime
    before = utcnow()
    info = rt.start("event_gateway", {"timeout": "PT1H"}, business_key="gw-answer")
    assert info.status == "waiting"
    timers, messages = _waits(backend.services, info.id)
    assert messages == ["answer"]
    [timer] = timers
    assert before + timedelta(minutes=59) <= aware(timer.due_at) <= utcnow() + timedelta(hours=1)

    done = rt.deliver_message("answer", "gw-answer", {"text": "ok"}, actor="citizen")
    assert done.completed and done.status == "answered"
    assert _waits(backend.services, info.id) == ([], [])
    assert "message_delivered" in events(backend.services, info.id)
    with pytest.raises(UndeliverableMessage):
        rt.deliver_message("answer", "gw-answer", {})


def test_timer_wins_and_the_message_is_no_longer_awaited(backend, cluster):
    rt = backend.services.runtime
    info = rt.start("event_gateway", {"timeout": "PT1H"}, business_key="gw-timeout")
    [timer], _ = _waits(backend.services, info.id)
    cluster.scheduler()
    advance_clock_to(aware(timer.due_at))  # the hour passes (tests/support/clock.py)
    wait_for(lambda: rt.instance(info.id).completed, timeout=90, message="the gateway's timer to fire")
    assert rt.instance(info.id).status == "timed_out"
    assert events(backend.services, info.id).count("timer_fired") == 1
    assert _waits(backend.services, info.id) == ([], [])
    with pytest.raises(UndeliverableMessage):
        rt.deliver_message("answer", "gw-timeout", {})
