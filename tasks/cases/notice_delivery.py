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

Two runs of one job (a retry started while a slow first run is still talking to the mail server) must
not both send. Before sending, a run takes a lease on the delivery row: a conditional UPDATE moves it
from «pending» (or a «sending» whose lease expired: its run died mid-way) to «sending» with an expiry.
Only the run whose UPDATE changed the row sends; the other finds a live lease and is retried later.

A run SIGKILLed mid-send leaves its lease live for SEND_LEASE, which held a notice back for up to five
minutes (the fault drills found it). On PostgreSQL a run therefore also holds a session advisory lock
on the delivery's key while it owns the lease; the server drops the lock the moment the run's
connection dies. A run that gets the lock knows no live run is sending, so it takes over a lease still
marked «sending» at once; one that cannot get it is retried later, as before. Had the dead run's
letter already been accepted by the mail server, it goes out again - mail is at least once - but with
the same Message-ID (derived from the key), which mail clients show once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Column, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from engine.db import Database
from tasks.accounts.models import User
from tasks.config import AppConfig
from tasks.mail import MailError, send_mail
from tasks.sms import SmsError, sms_adapter

from .models.notifications import Notification, NotificationDelivery
from .notifications import Notice

log = logging.getLogger(__name__)

SMS_MAX_ATTEMPTS = 8
# How long a run may take to send before another run may take the delivery over; well above the SMTP and
# SMS timeouts, so a live sender never loses its lease, and short enough that a killed one delays little.
SEND_LEASE = timedelta(minutes=5)
# Plain Core: these rows are written once and never read back in the same session.
_NOTIFICATIONS = Notification.__table__
_DELIVERIES = NotificationDelivery.__table__
# Statements every notice runs, built once (constructing one costs a good part of what executing it does).
_TRY_LOCK = select(func.pg_try_advisory_lock(bindparam("lock", type_=BigInteger)))
_UNLOCK = select(func.pg_advisory_unlock(bindparam("lock", type_=BigInteger)))
_SETTLE = (update(_DELIVERIES).where(_DELIVERIES.c.key == bindparam("d_key"))  # a column's own name is reserved
           .values(status=bindparam("d_status"), attempts=bindparam("d_attempts"), last_error=bindparam("d_error"),
                   lease_until=None, updated_at=bindparam("d_now", type_=_DELIVERIES.c.updated_at.type)))


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
    deleted: bool = False  # the person deleted their account: no channel reaches them any more


def recipient(user: User, *, citizen: bool) -> Recipient:
    """Greeting name: «Имя Отчество» as Russian letters address people, else the full name or e-mail."""
    name = " ".join(p for p in (user.first_name, user.middle_name) if p) or user.full_name
    return Recipient(user.id, user.email, name, user.phone, bool(user.sms_opt_in), citizen,
                     deleted=user.deleted_at is not None)


def applicant(session: Session, owner_id: int) -> Recipient:
    """The case's applicant as a notice's recipient (every citizen notice goes to them)."""
    return recipient(session.get(User, owner_id), citizen=True)


def deliver(db: Database, config: AppConfig, *, call_id: int | None, who: Recipient, notice: Notice,
            number: str, instance_id: int | None, key_base: str | None = None) -> list[str]:
    """Deliver `notice` to one person on every channel they get; returns the channels used this time.

    Raises DeliveryFailed when the job must be retried (mail not sent, SMS failing but not given up).
    The portal row and the e-mail's delivery record are written in one transaction before anything
    is sent, and each sending is settled and journaled in one more: a notice costs two commits.
    """
    if who.deleted:  # its address is a placeholder on .invalid: mailing it would only fail and retry
        with db.session() as s:
            journal.record(s, instance_id, "notification_skipped", actor="worker",
                           details={"event": notice.event, "reason": "account_deleted"})
            s.commit()
        return []
    base = f"call:{call_id}" if call_id is not None else key_base  # key_base: a notice sent outside the engine
    key = (lambda channel: f"{base}:{channel}:{who.user_id}") if base is not None else None
    email_key = key("email") if key else None
    with sender_lock(db, email_key) as takeover:
        try:
            with db.session() as s:
                portal = who.citizen and _portal(s, key("portal") if key else None, who, notice, number)
                email = _claim(s, email_key, "email", who, number, takeover=takeover) if email_key else _UNRECORDED
        except IntegrityError as exc:
            raise _delivered_elsewhere() from exc
        done = ["portal"] if portal else []
        try:
            if _send_claimed(db, email, email_key, "email", instance_id, notice.event,
                             lambda: send_mail(config, who.email, notice.subject, notice.text, dedup_key=email_key)):
                done.append("email")
        except MailError as exc:
            raise DeliveryFailed("mail_failed", str(exc)) from exc
    if who.citizen and who.sms_opt_in and who.phone:
        try:
            if deliver_once(db, key("sms") if key else None, "sms", who, number, instance_id, notice.event,
                            lambda: sms_adapter(config).send(who.phone or "", notice.sms),
                            max_attempts=SMS_MAX_ATTEMPTS):
                done.append("sms")
        except SmsError as exc:
            raise DeliveryFailed("sms_failed", str(exc)) from exc
    return done


def _portal(s: Session, key: str | None, who: Recipient, notice: Notice, number: str) -> bool:
    """The notice in the citizen's list; False when a previous attempt already put it there. One statement:
    the row is inserted unless one with its key is already visible, and a concurrent run's row, committed
    or not, makes the INSERT raise (IntegrityError) inside the caller's try."""
    values = {"user_id": who.user_id, "case_number": number, "event": notice.event, "title": notice.subject,
              "text": notice.body, "created_at": utcnow(), "dedup_key": key}
    if key is None:  # a direct send: nothing to deduplicate by
        s.execute(insert(_NOTIFICATIONS).values(values))
        return True
    return _insert_unless_present(s, _NOTIFICATIONS, values, _NOTIFICATIONS.c.dedup_key)


def _insert_unless_present(s: Session, table: Table, values: dict[str, Any], key: Column) -> bool:
    """INSERT ... SELECT ... WHERE NOT EXISTS (a row under the same key): True when it inserted. What a SELECT
    and then an INSERT did, in one round trip; unlike ON CONFLICT DO NOTHING, a row a concurrent transaction
    inserted (and which this statement could not see) still raises IntegrityError, as it did then."""
    statement = _insert_unless_present_statement(table, tuple(values), key.name)
    return s.execute(statement, values).first() is not None


@lru_cache(maxsize=16)
def _insert_unless_present_statement(table: Table, columns: tuple[str, ...], key: str) -> Any:
    """Built once per table and columns: its values are bound parameters named after the columns."""
    row = select(*(bindparam(c, type_=table.c[c].type).label(c) for c in columns))
    present = select(table.c.id).where(table.c[key] == bindparam(key, type_=table.c[key].type))
    return insert(table).from_select(list(columns), row.where(~present.exists())).returning(table.c.id)


def _delivered_elsewhere() -> DeliveryFailed:
    """A concurrent run of the same job recorded the delivery first and is sending it. This run must
    not report success - its result may be applied first, and the other run's failure then lost - so
    the job is retried, and the retry finds the delivery settled (or still owed)."""
    return DeliveryFailed("delivery_in_progress", "another run of this notice is delivering it")


@dataclass(frozen=True)
class _Claim:
    """A channel's delivery record as found (or just created) before sending: what to do now."""

    status: str  # pending (this run holds the lease) | sent | failed
    attempts: int


_UNRECORDED = _Claim("pending", 0)  # a direct call outside the engine: nothing to deduplicate by


def _claim(s: Session, key: str, channel: str, who: Recipient, number: str, *, takeover: bool = False) -> _Claim:
    """The delivery under `key`, leased to this run when it is still owed.

    Raises DeliveryFailed («delivery_in_progress») when another run holds a live lease on it. With
    `takeover` (this run holds the key's advisory lock, so whoever left a lease is dead) a lease is taken
    over whatever its expiry.
    """
    now = utcnow()  # the first run: the row is born leased to it (what _take_lease would make of it)
    if _insert_unless_present(s, _DELIVERIES, {
            "key": key, "channel": channel, "user_id": who.user_id, "case_number": number, "status": "sending",
            "attempts": 0, "lease_until": now + SEND_LEASE, "updated_at": now}, _DELIVERIES.c.key):
        return _Claim("pending", 0)
    row = s.scalar(select(NotificationDelivery).where(NotificationDelivery.key == key))  # an earlier run's
    if row.status in ("sent", "failed"):
        return _Claim(row.status, row.attempts or 0)
    if not _take_lease(s, key, takeover=takeover):
        raise _delivered_elsewhere()
    return _Claim("pending", row.attempts or 0)


def _take_lease(s: Session, key: str, *, takeover: bool = False) -> bool:
    """Move the row to «sending» until now + SEND_LEASE, if no other run holds it; True when this run did."""
    now = utcnow()
    held_by_dead = NotificationDelivery.status == "sending" if takeover else \
        and_(NotificationDelivery.status == "sending", NotificationDelivery.lease_until < now)
    owed = or_(NotificationDelivery.status == "pending", held_by_dead)
    taken = s.execute(update(NotificationDelivery)
                      .where(NotificationDelivery.key == key, owed)
                      .values(status="sending", lease_until=now + SEND_LEASE, updated_at=now)
                      .execution_options(synchronize_session=False)).rowcount
    return bool(taken)


def deliver_once(db: Database, key: str | None, channel: str, who: Recipient, number: str,
                 instance_id: int | None, event: str, send: Callable[[], None], *,
                 max_attempts: int | None = None) -> bool:
    """Run `send` unless the delivery under `key` is already settled; record the outcome.

    Returns True when it sent now. A failure is counted; with `max_attempts` (SMS) the delivery is
    given up once they are used up, or at once when the error says retrying is useless, and then
    the failure is swallowed (journaled) instead of raised.
    """
    if key is None:
        return _send_claimed(db, _UNRECORDED, None, channel, instance_id, event, send, max_attempts=max_attempts)
    with sender_lock(db, key) as takeover:
        try:
            with db.session() as s:
                claim = _claim(s, key, channel, who, number, takeover=takeover)
        except IntegrityError as exc:
            raise _delivered_elsewhere() from exc
        return _send_claimed(db, claim, key, channel, instance_id, event, send, max_attempts=max_attempts)


@contextmanager
def sender_lock(db: Database, key: str | None) -> Iterator[bool]:
    """PostgreSQL: hold the delivery key's session advisory lock for the whole run (yields True: a lease
    left «sending» is a dead run's); DeliveryFailed when a live run holds it. SQLite, or no key: False."""
    if key is None or db.is_sqlite:
        yield False
        return
    lock_id = int.from_bytes(hashlib.blake2b(f"notice:{key}".encode(), digest_size=8).digest(), "big", signed=True)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if not conn.execute(_TRY_LOCK, {"lock": lock_id}).scalar_one():
            raise _delivered_elsewhere()
        try:
            yield True
        finally:
            conn.execute(_UNLOCK, {"lock": lock_id})


def _send_claimed(db: Database, claim: _Claim, key: str | None, channel: str, instance_id: int | None, event: str,
                  send: Callable[[], None], *, max_attempts: int | None = None) -> bool:
    if claim.status in ("sent", "failed"):
        return False
    try:
        send()
    except (MailError, SmsError) as exc:
        attempts = claim.attempts + 1
        give_up = max_attempts is not None and (attempts >= max_attempts or not getattr(exc, "retryable", True))
        journaled = ("notification_failed", {"attempts": attempts}) if give_up else None
        _settle(db, key, "failed" if give_up else "pending", attempts, str(exc), instance_id, channel, event,
                journaled)
        if give_up:
            log.warning("%s notice %s (%s) given up after %d attempts: %s", channel, event, key, attempts, exc)
            return False
        raise
    _settle(db, key, "sent", claim.attempts + 1, None, instance_id, channel, event, ("notification_sent", {}))
    return True


def _settle(db: Database, key: str | None, status: str, attempts: int, error: str | None, instance_id: int | None,
            channel: str, event: str, journaled: tuple[str, dict[str, Any]] | None) -> None:
    """The delivery's outcome and, when it is final, the journal row staff read (never the address): one commit."""
    if key is None and journaled is None:
        return
    with db.session() as s:
        if key is not None:  # plain Core: nothing of the row is loaded in this session to synchronise
            s.execute(_SETTLE, {"d_key": key, "d_status": status, "d_attempts": attempts, "d_error": error,
                                "d_now": utcnow()})
        if journaled is not None:
            what, extra = journaled
            journal.record(s, instance_id, what, actor="worker", details={"channel": channel, "event": event, **extra})
