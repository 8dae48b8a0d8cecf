"""Delivering a notice: the in-portal list, then e-mail, then SMS, each at most once per outbox call.

The operator `notify.case_status` runs as an outbox job that the engine retries with backoff, so any
step may run again after a failure of a later one. Each channel is therefore recorded under a key
made of the service call's id, the channel and the recipient («call:42:email:7»): a retry skips what
an earlier attempt already did. The portal row is written first (the citizen sees the notice even
while the mail server is down), the e-mail next (its failure makes the whole job retry: mail is
delayed, never lost), the SMS last.

SMS is a courtesy channel, the e-mail and the portal are the record. An SMS that fails is retried
with the job (the e-mail is not re-sent: its delivery row says «sent») for at most SMS_MAX_ATTEMPTS
attempts, then given up with a journal entry: a provider outage must not hold the case's process
on its notification task for hours. A provider's definite refusal (a 4xx) is given up at once.
This is why SMS shares the operator instead of having one of its own: with a separate `notify.sms`
service task every notification in every diagram would need a second task, and the bounded SMS
attempts give the independence that matters (an SMS outage neither re-sends mail nor stalls a case).

The key is the id of the outbox call being run (`engine.operators.current_call_id`). A direct call
outside the engine has no id, and then nothing is deduplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import journal
from engine.clock import utcnow
from engine.db import Database
from tasks.config import AppConfig
from tasks.mail import MailError, send_mail
from tasks.sms import SmsError, sms_adapter
from web.accounts.models import User

from .notification_models import Notification, NotificationDelivery
from .notifications import Notice

log = logging.getLogger(__name__)

SMS_MAX_ATTEMPTS = 8


class DeliveryFailed(Exception):
    """The e-mail (or a still retryable SMS) did not go out; the job should run again later."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    name: str
    phone: str | None
    sms_opt_in: bool
    citizen: bool  # citizens also get the notice in the portal and, if they opted in, by SMS


def recipient(user: User, *, citizen: bool) -> Recipient:
    """Greeting name: «Имя Отчество» as Russian letters address people, else the full name or e-mail."""
    name = " ".join(p for p in (user.first_name, user.middle_name) if p) or user.full_name
    return Recipient(user.id, user.email, name, user.phone, bool(user.sms_opt_in), citizen)


def deliver(db: Database, config: AppConfig, *, call_id: int | None, who: Recipient, notice: Notice,
            number: str, instance_id: int | None) -> list[str]:
    """Deliver `notice` to one person on every channel they get; returns the channels used this time.

    Raises DeliveryFailed when the job must be retried (mail not sent, SMS failing but not given up).
    """
    key = (lambda channel: f"call:{call_id}:{channel}:{who.user_id}") if call_id is not None else None
    done: list[str] = []
    if who.citizen and _portal(db, key("portal") if key else None, who, notice, number):
        done.append("portal")
    try:
        if _once(db, key("email") if key else None, "email", who, number, instance_id, notice.event,
                 lambda: send_mail(config, who.email, notice.subject, notice.text)):
            done.append("email")
    except MailError as exc:
        raise DeliveryFailed("mail_failed", str(exc)) from exc
    if who.citizen and who.sms_opt_in and who.phone:
        try:
            if _once(db, key("sms") if key else None, "sms", who, number, instance_id, notice.event,
                     lambda: sms_adapter(config).send(who.phone or "", notice.sms), max_attempts=SMS_MAX_ATTEMPTS):
                done.append("sms")
        except SmsError as exc:
            raise DeliveryFailed("sms_failed", str(exc)) from exc
    return done


def _portal(db: Database, key: str | None, who: Recipient, notice: Notice, number: str) -> bool:
    """The notice in the citizen's list; False when a previous attempt already put it there."""
    try:
        with db.session() as s:
            if key is not None and s.scalar(select(Notification.id).where(Notification.dedup_key == key)):
                return False
            s.add(Notification(user_id=who.user_id, case_number=number, event=notice.event, title=notice.subject,
                               text=notice.body, created_at=utcnow(), dedup_key=key))
    except IntegrityError:  # a concurrent run of the same job wrote it first
        return False
    return True


def _once(db: Database, key: str | None, channel: str, who: Recipient, number: str, instance_id: int | None,
          event: str, send: Callable[[], None], *, max_attempts: int | None = None) -> bool:
    """Run `send` unless the delivery under `key` is already settled; record the outcome.

    Returns True when it sent now. A failure is counted; with `max_attempts` (SMS) the delivery is
    given up once they are used up, or at once when the error says retrying is useless, and then
    the failure is swallowed (journaled) instead of raised.
    """
    if key is None:
        send()
        _journal(db, instance_id, "notification_sent", channel, event)
        return True
    try:
        with db.session() as s:
            row = s.scalar(select(NotificationDelivery).where(NotificationDelivery.key == key))
            if row is None:
                row = NotificationDelivery(key=key, channel=channel, user_id=who.user_id, case_number=number,
                                           status="pending", attempts=0, updated_at=utcnow())
                s.add(row)
            status, attempts = row.status, row.attempts or 0
    except IntegrityError:  # a concurrent run of the same job inserted it first: that run sends
        return False
    if status in ("sent", "failed"):
        return False
    try:
        send()
    except (MailError, SmsError) as exc:
        attempts += 1
        give_up = max_attempts is not None and (attempts >= max_attempts or not getattr(exc, "retryable", True))
        _settle(db, key, "failed" if give_up else "pending", attempts, str(exc))
        if give_up:
            log.warning("%s notice %s for %s given up after %d attempts: %s", channel, event, number, attempts, exc)
            _journal(db, instance_id, "notification_failed", channel, event, attempts=attempts)
            return False
        raise
    _settle(db, key, "sent", attempts + 1, None)
    _journal(db, instance_id, "notification_sent", channel, event)
    return True


def _settle(db: Database, key: str, status: str, attempts: int, error: str | None) -> None:
    with db.session() as s:
        row = s.scalar(select(NotificationDelivery).where(NotificationDelivery.key == key))
        if row is not None:
            row.status, row.attempts, row.last_error, row.updated_at = status, attempts, error, utcnow()


def _journal(db: Database, instance_id: int | None, what: str, channel: str, event: str, **extra: Any) -> None:
    """Staff see in the case's journal which notices went out on which channel (never the address)."""
    with db.session() as s:
        journal.record(s, instance_id, what, actor="worker", details={"channel": channel, "event": event, **extra})
