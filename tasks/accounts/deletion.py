"""Deleting a citizen's account on their request, keeping only what the law requires.

What stays: the cases (applications, decisions, certificates, appeals, their documents and journal) —
state service records kept for their legal terms — and the record of which versions of the legal
documents the person accepted (the proof of consent, 152-ФЗ ст. 9 ч. 3). What goes: the profile (ФИО,
birth date, phone, ЕНП, ИНН; the address becomes a placeholder on the reserved `.invalid` domain),
the password and second factor, API tokens, pending codes, portal notices, drafts and uploads not
attached to a case. The account is deactivated, so nobody can sign in to it again, and the deletion is
journaled without personal data.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import utcnow
from tasks.cases.drafts import delete_document, discard_draft
from tasks.cases.models.cases import Document, Draft
from tasks.cases.models.notifications import Notification
from tasks.config import AppConfig

from . import errors
from .models import ActivationCode, EmailChange, User
from .passwords import hash_password
from .roles import CITIZEN
from .service import AccountService
from .sessions import end_sessions

DELETED_DOMAIN = "deleted.invalid"  # RFC 2606: never a real mailbox
_PROFILE = ("phone", "last_name", "first_name", "middle_name", "birth_date", "enp", "inn", "snils", "totp_secret",
            "totp_last_step")


def deleted_email(user_id: int) -> str:
    return f"deleted-{user_id}@{DELETED_DOMAIN}"


def delete_account(session: Session, accounts: AccountService, config: AppConfig, user: User,
                   password: str) -> None:
    """Deactivate the account and minimise its personal data after the person re-entered their password."""
    if user.role != CITIZEN:
        raise errors.AccountError("Учётные записи сотрудников удаляет администратор.")
    accounts.check_own_password(user, password)
    user_id = user.id
    _minimise(session, user)
    revoked = end_sessions(session, user)
    removed = session.execute(delete(Notification).where(Notification.user_id == user_id)).rowcount or 0
    session.execute(delete(ActivationCode).where(ActivationCode.user_id == user_id))
    session.execute(delete(EmailChange).where(EmailChange.user_id == user_id))
    journal.record(session, None, "account_deleted", actor=f"user:{user_id}",
                   details={"user_id": user_id, "tokens_revoked": revoked, "notifications_removed": removed})
    session.commit()
    _remove_uploads(session, config, user_id)


def _minimise(session: Session, user: User) -> None:
    for name in _PROFILE:
        setattr(user, name, None)
    user.sms_opt_in = False
    user.is_active = False
    user.deleted_at = utcnow()
    user.email = deleted_email(user.id)
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it: no way back in
    session.flush()


def _remove_uploads(session: Session, config: AppConfig, user_id: int) -> None:
    """Drafts and the files not attached to a case: nothing the law asks to keep."""
    for draft in session.scalars(select(Draft).where(Draft.owner_id == user_id)).all():
        discard_draft(session, config, draft)
    for doc in session.scalars(select(Document).where(Document.owner_id == user_id,
                                                      Document.application_id.is_(None))).all():
        delete_document(session, config, doc)
