"""A case cancelled by a supervisor: what the applicant is told, and the reason the case shows.

The engine ends the instance (engine/control.py) and journals `instance_cancelled` with the reason;
the case then reads as the status `cancelled` with that reason in «Мои заявки», on the case page and
in the API. The notice cannot be a service task of the diagram (the instance has ended), so it is an
RQ job of its own on the workers' queue, delivered like every case notice (portal, e-mail, SMS) under
a key of the instance: a repeated run sends nothing twice.
"""

from __future__ import annotations

import logging

from rq import Queue, Retry

from engine.context import Services, get_services

from .notice_delivery import applicant, deliver
from .notifications import render_notice
from .operators import app_config
from .queries import cancellation_of
from .submission import find_application

log = logging.getLogger(__name__)
JOB = "tasks.cases.cancellation.send_cancellation_notice"
CANCELLED = "cancelled"


def announce_cancellation(services: Services, number: str) -> str:
    """Queue the applicant's notice of the cancellation; the RQ job id."""
    queue = Queue(services.settings.queue_name, connection=services.redis)
    job = queue.enqueue_call(JOB, args=(number,), timeout=120, result_ttl=0, failure_ttl=7 * 86400,
                             job_id=f"cancelled-{number}", retry=Retry(max=3))
    return job.id


def send_cancellation_notice(number: str) -> list[str]:
    """The RQ job: tell the applicant that the case was cancelled, and why."""
    services = get_services()
    db = services.database
    with db.session() as s:
        app = find_application(s, number)
        if app is None:
            log.warning("cancellation notice: case %s does not exist", number)
            return []
        cancelled = cancellation_of(s, app)
        who = applicant(s, app.owner_id)
        instance_id = app.instance_id
    config = app_config()
    notice = render_notice(config, event="cancelled", number=number, name=who.name, status=CANCELLED,
                           details={"reason": (cancelled or {}).get("reason") or ""})
    return deliver(db, config, call_id=None, who=who, notice=notice, number=number, instance_id=instance_id,
                   key_base=f"cancelled:{instance_id}")
