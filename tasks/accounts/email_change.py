"""Changing the e-mail address a citizen signs in with: confirmed by a code sent to the new address.

The person re-enters their password to ask (a session left open on someone else's computer must not be
enough), a six-digit code goes to the new address, and the address changes only when that code comes
back. The old address is told of the change in the same step: if that letter cannot go out, nothing
changes. Codes follow the activation codes' rules: HMAC-ed, 30 minutes, burned by the fifth wrong entry.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from forms.formats import check_email

from . import errors
from .models import EmailChange, User
from .service import ACTIVATION_TTL, MAX_CODE_ATTEMPTS, AccountService, normalize_email
from .sessions import end_sessions

CODE_TTL = ACTIVATION_TTL
_CODE = re.compile(r"^\d{6}$")
_ASK_AGAIN = "Запросите смену адреса ещё раз: новый код придёт на новый адрес."

SendCode = Callable[[User, str, str], None]  # (user, new address, code)
TellOldAddress = Callable[[User, str, str], None]  # (user, old address, new address)


class NoEmailChange(errors.AccountError):
    status, code, field = 409, "no_email_change", "code"
    default_message = "Смена адреса электронной почты не запрашивалась или уже завершена. " + _ASK_AGAIN


class SameEmail(errors.AccountError):
    status, code, field = 422, "same_email", "email"
    default_message = "Это ваш текущий адрес. Введите новый адрес электронной почты."


class EmailChangeService:
    """Ask for and confirm a change of address on one session; `secret` keys the code HMACs."""

    def __init__(self, session: Session, secret: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.accounts = AccountService(session, secret, clock)
        self.secret = secret.encode()
        self.clock = clock

    def request(self, user: User, new_email: str, password: str, send_code: SendCode) -> str:
        """Mail a code to `new_email` (replacing an earlier request); returns the normalised address.

        If `send_code` raises, nothing is stored.
        """
        self.accounts.check_own_password(user, password)
        email = normalize_email(new_email or "")
        if check_email(email) is not None:
            raise errors.InvalidEmail()
        if email == user.email:
            raise SameEmail()
        if self.accounts.find_by_email(email) is not None:
            raise errors.EmailTaken("Этот адрес уже занят другой учётной записью. Укажите другой адрес.")
        now = self.clock()
        code = f"{secrets.randbelow(10**6):06d}"
        self.session.execute(delete(EmailChange).where(EmailChange.user_id == user.id))
        self.session.add(EmailChange(user_id=user.id, new_email=email, code_hash=self._hash(user.id, email, code),
                                     created_at=now, expires_at=now + CODE_TTL, attempts=0))
        journal.record(self.session, None, "email_change_requested", actor=f"user:{user.id}",
                       details={"user_id": user.id})
        self.session.flush()
        try:
            send_code(user, email, code)
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()
        return email

    def pending_address(self, user: User) -> str | None:
        """The address waiting for its code, if a change is under way and its code still lives."""
        row = self._row(user)
        if row is None or row.attempts >= MAX_CODE_ATTEMPTS or aware(row.expires_at) <= self.clock():
            return None
        return row.new_email

    def confirm(self, user: User, code: str, tell_old_address: TellOldAddress) -> User:
        """Change the address when `code` is right; the old address is told first (if that fails, nothing changes).

        The user's other sessions end (tasks.accounts.sessions.end_sessions).
        """
        row = self._row(user)
        if row is None:
            raise NoEmailChange()
        self._check_code(user, row, re.sub(r"\s", "", code or ""))
        old, new = user.email, row.new_email
        self.session.delete(row)
        user.email = new
        revoked = end_sessions(self.session, user)
        journal.record(self.session, None, "email_changed", actor=f"user:{user.id}",
                       details={"user_id": user.id, "tokens_revoked": revoked})
        try:
            self.session.flush()
        except IntegrityError as exc:  # the address was taken meanwhile
            self.session.rollback()
            raise errors.EmailTaken("Этот адрес уже занят другой учётной записью. Укажите другой адрес.") from exc
        try:
            tell_old_address(user, old, new)
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()
        return user

    def _check_code(self, user: User, row: EmailChange, code: str) -> None:
        if row.attempts >= MAX_CODE_ATTEMPTS:
            raise errors.CodeBurned("Код введён неверно слишком много раз и больше не действует. " + _ASK_AGAIN)
        if aware(row.expires_at) <= self.clock():
            raise errors.CodeExpired("Срок действия кода истёк. " + _ASK_AGAIN)
        if not _CODE.match(code):
            raise errors.InvalidCode("Код подтверждения — шесть цифр из письма, отправленного на новый адрес.")
        attempts = self.session.execute(
            update(EmailChange).where(EmailChange.id == row.id, EmailChange.attempts < MAX_CODE_ATTEMPTS)
            .values(attempts=EmailChange.attempts + 1).returning(EmailChange.attempts)
            .execution_options(synchronize_session=False)).scalar_one_or_none()
        if attempts is None:
            raise errors.CodeBurned("Код введён неверно слишком много раз и больше не действует. " + _ASK_AGAIN)
        if not hmac.compare_digest(row.code_hash, self._hash(user.id, row.new_email, code)):
            self.session.commit()
            left = MAX_CODE_ATTEMPTS - attempts
            if left <= 0:
                raise errors.CodeBurned("Код введён неверно слишком много раз и больше не действует. " + _ASK_AGAIN)
            raise errors.InvalidCode(f"Неверный код подтверждения. Осталось попыток: {left}.")

    def _row(self, user: User) -> EmailChange | None:
        return self.session.scalar(select(EmailChange).where(EmailChange.user_id == user.id))

    def _hash(self, user_id: int, email: str, code: str) -> str:
        return hmac.new(self.secret, f"email-change:{user_id}:{email}:{code}".encode(), hashlib.sha256).hexdigest()
