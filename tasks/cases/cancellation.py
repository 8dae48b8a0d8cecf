"""A case cancelled by a supervisor: the notice the applicant is owed, and the status the case shows.

The engine ends the instance (engine/control.py) and journals `instance_cancelled` with the reason;
the case then reads as the status `cancelled` with that reason in «Мои заявки», on the case page and
in the API. The notice cannot be a service task of the diagram (the instance has ended), so the
cancellation hands the engine a call it owes afterwards: an outbox row written in the cancelling
transaction and run by the workers like every case notice (`notify.case_status`: portal, e-mail, SMS,
each channel once per call). A worker killed mid-send or an SMTP outage only delays it: the row is
retried with backoff and becomes an incident, not a lost mail, if it keeps failing.
"""

from __future__ import annotations

from engine.unit_of_work import DetachedCall

CANCELLED = "cancelled"
NOTICE_LABEL = "cancellation_notice"  # the outbox row's task_spec: no element of any diagram has it
NOTICE_TITLE = "Уведомить об отмене заявления"  # what staff read for it in the journal


def cancellation_notice(number: str, reason: str) -> DetachedCall:
    """The applicant's notice that case `number` was cancelled, and why."""
    return DetachedCall(NOTICE_LABEL, "notify.case_status",
                        {"number": number, "status": CANCELLED, "event": CANCELLED, "details": {"reason": reason}})
