"""Accounts without Flask: registration, activation, authentication, API tokens, CLI users.

Every public method is one transaction on the session it was given and commits it (a wrong
activation code must be counted even though the call fails). The pages, the JSON API, the CLI and
the tests all go through this class, so the rules live in one place:

* an e-mail has at most one account; an active one is never replaced; a pending one (code sent,
  not yet entered) is replaced only once its code is dead (expired or burned). Replacing a live
  pending registration would let anyone who knows the address swap in their own password and have
  the owner activate it with the newest code.
* nobody learns from an answer whether an address has an account: registering a taken address
  answers like a new registration (the owner gets a letter about the attempt instead of a code),
  activating an active or unknown address is the same wrong code, and a password reset is asked
  for with the same answer for any address (a letter goes out either way, so the timings are close).
* a login session carries the user's `session_version`; `end_sessions` raises it, which ends every
  session of that person (logout, password reset, TOTP reset, role change, deactivation).
* a code is six random digits, HMAC-ed with the application secret and bound to the user id; it
  lives 30 minutes and the fifth wrong entry burns it.
* API tokens are 256-bit random strings; only their SHA-256 is stored.
* staff log in with a second factor, a TOTP code (RFC 6238) from an authenticator app: the password
  step never logs them in by itself. Each code is accepted once. Their first authenticator is enrolled
  only through a one-time link an administrator issued: whoever learnt the password cannot enrol theirs.
  The secret is stored sealed (secret_box).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from sqlalchemy import DateTime, bindparam, delete, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from engine.errors import DataValidationError, FieldError
from forms.formats import check_email
from forms.validation import Surface, clean
from tasks.legal import acceptance
from tasks.legal.catalogue import Catalogue

from . import errors
from .models import ActivationCode, ApiToken, OneTimeCode, PasswordResetCode, User
from .passwords import hash_password, needs_rehash, password_problem, verify_password
from .roles import CITIZEN, ROLES
from .secret_box import SecretUnreadable, seal, unseal
from .sessions import end_sessions

log = logging.getLogger(__name__)

ACTIVATION_TTL = timedelta(minutes=30)
RESET_TTL = timedelta(minutes=30)
MAX_CODE_ATTEMPTS = 5
TOKEN_TTL = timedelta(hours=24)
TOKEN_PREFIX = "bo_"  # noqa: S105 - a marker that makes leaked tokens easy to grep for, not a secret
# Writing last_used_at on every API call would turn every read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Built once (resolve_token runs them on every API request).
_TOKEN_AND_USER = (select(User, ApiToken.id.label("token_id"), ApiToken.expires_at, ApiToken.last_used_at)
                   .join(ApiToken, ApiToken.user_id == User.id)
                   .where(ApiToken.token_hash == bindparam("token_hash")))
_NOTE_TOKEN_USE = (update(ApiToken).where(ApiToken.id == bindparam("token_id"))
                   .values(last_used_at=bindparam("now")).execution_options(synchronize_session=False))

TOTP_ISSUER = "Справка ОМС"  # the account's name in the staff member's authenticator app
TOTP_WINDOW = 1  # time steps accepted either side of now: a phone clock up to ~30 s off still works
ENROL_LINK_TTL = timedelta(days=3)  # an enrolment link issued on Friday still works on Monday

_PROFILE_FIELDS = ("phone", "last_name", "first_name", "middle_name", "birth_date", "enp", "inn")
_CODE = re.compile(r"^\d{6}$")

Deliver = Callable[[User, str], None]
# Letters that carry no code: to the owner of an address someone tried to register again, and to an
# address without an account a password reset was asked for.
Notify = Callable[[str], None]


class SecondFactor(StrEnum):
    """What a user must do after a correct password."""

    NONE = "none"  # citizens: logged in
    CODE = "code"  # staff: a code from their authenticator app
    ENROL = "enrol"  # staff who have not set up an authenticator: enrol first (pages only)


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once: only its hash is stored
    expires_at: datetime


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_registration(data: Mapping[str, Any], catalogue: Catalogue, *,
                          surface: Surface = "api") -> dict[str, Any]:
    """Check registration fields against forms/schemas/registration.schema.json; return normalized data.

    ЕНП and ИНН are optional (checked by their check digits when given; the profile fills them later).
    The page requires both checkboxes, and the versions in its hidden fields must be the current ones of
    `catalogue` (a version changed while the form was open is refused); it also words date errors as
    ДД.ММ.ГГГГ. The API's registration body has no version fields: the client
    application presents the documents in force (`GET /api/v1/legal/documents`) and registering accepts
    them, so `terms_version` and `consent_version` are optional there, but a version that is named must
    be the current one (`outdated_version` at its field otherwise).
    """
    clean_data, problems = clean("registration", dict(data), surface=surface)
    flagged = {p.field for p in problems}
    if "password" not in flagged and isinstance(clean_data.get("password"), str):  # every error at once
        personal = [clean_data[k] for k in ("email", "last_name", "first_name", "middle_name", "birth_date")
                    if k not in flagged and isinstance(clean_data.get(k), str) and clean_data[k]]
        if (problem := password_problem(clean_data["password"], personal=personal)) is not None:
            problems = [*problems, FieldError("password", "weak_password", problem)]
    current = catalogue.all_current()
    if surface == "api":
        current = [d for d in current if clean_data.get(d.field) not in (None, "")]
    problems += [p for p in acceptance.version_problems(current, clean_data) if p.field not in flagged]
    if problems:
        raise DataValidationError("registration data is invalid", problems)
    for checkbox in ("terms", "consent"):
        clean_data.pop(checkbox, None)
    clean_data["email"] = normalize_email(clean_data["email"])
    return clean_data


class AccountService:
    """Account operations on one SQLAlchemy session; `secret` keys the activation-code HMACs."""

    def __init__(self, session: Session, secret: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.secret = secret.encode()
        self.clock = clock

    # ------------------------------------------------------------------ registration
    def register(self, data: Mapping[str, Any], deliver: Deliver, notify_taken: Notify, *, catalogue: Catalogue,
                 surface: Surface = "api") -> str:
        """Create (or replace a dead pending) citizen account and hand its code to `deliver`.

        `deliver` sends the code (e-mail); if it raises, nothing is stored, so a registration
        never waits for a code that did not go out. An address whose account is active (or whose
        registration waits for a live code) is not touched: `notify_taken` tells its owner someone
        tried, and the caller answers exactly as for a new registration. Returns the address.

        The acceptance of the legal documents' current versions is stored with a new account, under the
        channel `surface` ("page": the person ticked the boxes; "api": the client application presented
        the documents, whether or not it named their versions).
        """
        fields = validate_registration(data, catalogue, surface=surface)
        now = self.clock()
        user = self.find_by_email(fields["email"])
        if user is not None and not self._replaceable(user, now):
            hash_password(fields["password"])  # the same work as a registration: the timing tells nothing
            notify_taken(user.email)
            return user.email
        if user is None:
            user = User(email=fields["email"], role=CITIZEN, is_active=False)
            self.session.add(user)
        user.password_hash = hash_password(fields["password"])
        for name in _PROFILE_FIELDS:
            setattr(user, name, fields.get(name) or None)
        user.birth_date = date.fromisoformat(fields["birth_date"])
        user.sms_opt_in = bool(fields.get("sms_opt_in"))  # SMS notices only with the citizen's consent
        user.created_at = now
        try:
            self.session.flush()
        except IntegrityError:  # the same address registered concurrently: its owner hears of it
            self.session.rollback()
            notify_taken(fields["email"])
            return fields["email"]
        acceptance.record(self.session, user.id, catalogue.all_current(), channel=surface, now=now)
        self._send_new_code(user, now, deliver)
        return user.email

    def _replaceable(self, user: User, now: datetime) -> bool:
        """A pending registration whose code is dead may be made again; an account or a live code may not."""
        if user.is_active or user.activated_at is not None:
            return False
        row = self._code_row(ActivationCode, user)
        return row is None or row.attempts >= MAX_CODE_ATTEMPTS or aware(row.expires_at) <= now

    def _send_new_code(self, user: User, now: datetime, deliver: Deliver,
                       model: type[OneTimeCode] = ActivationCode) -> None:
        """Store a fresh code and hand it to `deliver`; a delivery that fails leaves nothing stored."""
        code = self._new_code(model, user, now)
        try:
            deliver(user, code)
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()

    def _new_code(self, model: type[OneTimeCode], user: User, now: datetime) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        ttl = RESET_TTL if model is PasswordResetCode else ACTIVATION_TTL
        self.session.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
        self.session.add(model(user_id=user.id, code_hash=self._code_hash(model, user.id, code),  # type: ignore[call-arg]
                               created_at=now, expires_at=now + ttl, attempts=0))
        self.session.flush()
        return code

    def _code_hash(self, model: type[OneTimeCode], user_id: int, code: str) -> str:
        """HMAC of the code under the app secret, bound to the user and to what the code is for."""
        purpose = "reset" if model is PasswordResetCode else "activation"
        return hmac.new(self.secret, f"{purpose}:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def _code_row(self, model: type[OneTimeCode], user: User) -> OneTimeCode | None:
        return self.session.scalar(select(model).where(model.user_id == user.id))  # type: ignore[attr-defined]

    def resend_code(self, email: str, deliver: Deliver) -> bool:
        """A new code for a pending account, handed to `deliver`; the previous code stops working.

        Unknown and already active addresses get nothing, and the caller answers the same either way
        (the returned flag, whether a code went out, is for logs and tests). The new code comes with a
        fresh set of attempts; the rate limit on this action bounds how many guesses that adds. If
        `deliver` raises, nothing changes: the old code still works.
        """
        user = self.find_by_email(email or "")
        if user is None or user.is_active or user.activated_at is not None:
            return False
        self._send_new_code(user, self.clock(), deliver)
        return True

    # ------------------------------------------------------------------ password reset
    def request_password_reset(self, email: str, deliver: Deliver, notify_unknown: Notify) -> bool:
        """A reset code for an active account, handed to `deliver`; the previous reset code stops working.

        An address without an active account gets `notify_unknown` (a letter saying there is no account
        here), so every request sends one letter and neither the answer nor its timing tells whether the
        address is registered. The database work is the same statements on both paths too: a code drawn
        and HMAC-ed, the old reset code deleted and the new one inserted from the account's row (none
        for an unknown address, user id 0: no row matches), a journal row, one commit. A code row written
        only for real accounts made their answers measurably slower (benchmarks/enumeration.py). The
        journal row («password_reset_requested», never the address) lets staff notice a run of requests.
        If the letter cannot be sent nothing is stored. Returns whether a code went out (for logs and tests).
        """
        user = self.find_by_email(email or "")
        known = user is not None and user.is_active
        user_id = user.id if user is not None and known else 0
        now = self.clock()
        code = f"{secrets.randbelow(10**6):06d}"
        values = select(User.id, literal(self._code_hash(PasswordResetCode, user_id, code)),
                        literal(now, DateTime(timezone=True)), literal(now + RESET_TTL, DateTime(timezone=True)),
                        literal(0)).where(User.id == user_id)
        self.session.execute(delete(PasswordResetCode).where(PasswordResetCode.user_id == user_id))
        self.session.execute(insert(PasswordResetCode).from_select(
            ["user_id", "code_hash", "created_at", "expires_at", "attempts"], values))
        journal.record(self.session, None, "password_reset_requested", actor="anonymous",
                       details={"user_id": user_id or None})
        try:
            if user is not None and known:
                deliver(user, code)
            else:
                notify_unknown(normalize_email(email or ""))
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()
        return known

    def reset_password(self, email: str, code: str, password: str) -> User:
        """Set a new password when `code` is the account's live reset code; every session and token ends.

        The code works once, for RESET_TTL, and the fifth wrong entry burns it; an unknown address answers
        like a wrong code. A refused password does not spend the code, so it can be corrected with it.
        """
        code, password = re.sub(r"\s", "", code or ""), password or ""
        if not _CODE.match(code):
            raise errors.InvalidCode("Код для сброса пароля — шесть цифр из письма.")
        if problem := password_problem(password):  # the rules that do not depend on whose account it is
            raise errors.WeakPassword(problem)
        user = self.find_by_email(email or "")
        if user is None or not user.is_active:
            verify_password(None, password)  # as long as a real reset: the timing tells nothing
            raise errors.InvalidCode()
        self._consume_code(PasswordResetCode, user, code)
        # Only a right code learns that the password holds the person's own data; the code stays usable.
        if problem := password_problem(password, personal=personal_words(user)):
            self.session.rollback()
            raise errors.WeakPassword(problem)
        user.password_hash = hash_password(password)
        self._end_sessions(user, revoke_tokens=True)
        journal.record(self.session, None, "password_reset", actor=f"user:{user.id}",
                       message="Пароль изменён по коду из письма; все сеансы и токены доступа завершены.",
                       details={"user_id": user.id})
        self.session.commit()
        return user

    # ------------------------------------------------------------------ sessions
    def end_sessions(self, user: User, *, revoke_tokens: bool = False) -> None:
        """End every login session of the person (their cookies stop loading); optionally their API tokens."""
        self._end_sessions(user, revoke_tokens=revoke_tokens)
        self.session.commit()

    def _end_sessions(self, user: User, *, revoke_tokens: bool) -> int:
        return end_sessions(self.session, user, revoke_tokens=revoke_tokens)

    # ------------------------------------------------------------------ activation
    def activate(self, email: str, code: str) -> User:
        """Activate the account when `code` is its live code; a wrong code counts as an attempt.

        An unknown address and an active account get the same answer as a wrong code.
        """
        code = re.sub(r"\s", "", code or "")
        if not _CODE.match(code):
            raise errors.InvalidCode("Код подтверждения — шесть цифр из письма.")
        user = self.find_by_email(email or "")
        if user is None or user.is_active or user.activated_at is not None:
            raise errors.InvalidCode()
        self._consume_code(ActivationCode, user, code)
        user.is_active = True
        user.activated_at = self.clock()
        self.session.commit()
        return user

    def _consume_code(self, model: type[OneTimeCode], user: User, code: str) -> None:
        """Delete the user's code if `code` matches it; otherwise count the attempt (committed) and raise."""
        row = self._code_row(model, user)
        if row is None or row.attempts >= MAX_CODE_ATTEMPTS:
            raise errors.CodeBurned()
        if aware(row.expires_at) <= self.clock():
            raise errors.CodeExpired()
        attempts = self._take_attempt(model, row)
        if attempts is None:
            raise errors.CodeBurned()
        if not hmac.compare_digest(row.code_hash, self._code_hash(model, user.id, code)):
            self.session.commit()
            if attempts >= MAX_CODE_ATTEMPTS:
                raise errors.CodeBurned()
            raise errors.InvalidCode()
        self.session.delete(row)

    def _take_attempt(self, model: type[OneTimeCode], row: OneTimeCode) -> int | None:
        """Use up one attempt atomically, before comparing: concurrent guesses cannot exceed the limit.

        Returns the attempts used including this one, or None when none were left.
        """
        result = self.session.execute(
            update(model)
            .where(model.id == row.id, model.attempts < MAX_CODE_ATTEMPTS)
            .values(attempts=model.attempts + 1)
            .returning(model.attempts)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()

    # ------------------------------------------------------------------ authentication
    def check_password(self, email: str, password: str) -> User:
        """First factor: the active user with this e-mail and password (an outdated hash is upgraded)."""
        user = self.find_by_email(email or "")
        if not verify_password(user.password_hash if user else None, password or ""):
            raise errors.InvalidCredentials()
        assert user is not None
        if not user.is_active:
            raise errors.AccountDisabled() if user.activated_at is not None else errors.NotActivated()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            self.session.commit()
        return user

    @staticmethod
    def second_factor(user: User) -> SecondFactor:
        """What must follow the password: nothing for citizens; a TOTP code for staff, who enrol first."""
        if user.totp_secret:
            return SecondFactor.CODE
        return SecondFactor.ENROL if user.is_staff else SecondFactor.NONE

    def authenticate(self, email: str, password: str, otp: str | None = None) -> User:
        """Both factors in one call (the API): the password, and for staff a TOTP code not used before.

        Staff who have not enrolled yet are refused: enrolment shows a QR code and asks for a code from
        the new authenticator, so it happens on the login page, never through an API client.
        """
        user = self.check_password(email, password)
        factor = self.second_factor(user)
        if factor is SecondFactor.ENROL:
            raise errors.TotpEnrolmentRequired()
        if factor is SecondFactor.CODE:
            self.verify_otp(user, otp)
        return user

    def verify_otp(self, user: User, otp: str | None) -> None:
        """Accept `otp` for the user's enrolled secret, once.

        A code is valid for its 30-second step and the steps either side (phone clocks drift); the
        accepted step is stored with a conditional UPDATE, so the same code - or an older one - is
        refused afterwards even when two requests race with it.
        """
        if not user.totp_secret:
            raise errors.TotpEnrolmentRequired()
        try:
            secret = unseal(self.secret, user.totp_secret)
        except SecretUnreadable as exc:  # SECRET_KEY was changed: only a reset and a new enrolment help
            log.error("TOTP secret of user %s cannot be opened with the configured SECRET_KEY", user.id)
            raise errors.InvalidOtp("Второй фактор этой учётной записи недоступен. Обратитесь к администратору: "
                                    "он сбросит его и выдаст ссылку для нового подключения.") from exc
        step = self._matching_step(secret, otp)
        if step is None:
            raise errors.InvalidOtp()
        claimed = self.session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            self.session.rollback()
            raise errors.OtpReused()
        self.session.commit()

    @staticmethod
    def new_totp_secret() -> str:
        """A fresh 160-bit base32 secret (RFC 4226's recommended length) for an enrolment in progress."""
        return pyotp.random_base32()

    @staticmethod
    def totp_uri(user: User, secret: str) -> str:
        """The otpauth:// URI an authenticator app reads from the enrolment QR code."""
        return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)

    def enrol_totp(self, user: User, secret: str, otp: str | None, link: str | None) -> None:
        """Store `secret` as the user's second factor once they prove their app shows its codes.

        Needs the live one-time enrolment `link` token an administrator issued for this user, and uses it up.
        The secret reaches the database only here (sealed): an enrolment abandoned half-way leaves the
        account as it was. The confirming code also counts as used, so it cannot log in a second time.
        """
        if user.totp_secret:
            raise errors.TotpAlreadyEnrolled()
        if not self.enrolment_allowed(user, link):
            raise errors.EnrolmentLinkRequired()
        step = self._matching_step(secret, otp)
        if step is None:
            raise errors.InvalidOtp("Код не подошёл. Отсканируйте QR-код с этой страницы (или введите ключ) "
                                    "и введите код, который приложение показывает сейчас.")
        claimed = self.session.execute(
            update(User)
            .where(User.id == user.id, User.totp_secret.is_(None), User.enrol_token_hash == _token_hash(link or ""))
            .values(totp_secret=seal(self.secret, secret), totp_last_step=step, enrol_token_hash=None,
                    enrol_expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:  # enrolled meanwhile in another browser tab
            self.session.rollback()
            raise errors.TotpAlreadyEnrolled()
        journal.record(self.session, None, "totp_enrolled", actor=f"user:{user.id}",
                       message=f"Сотрудник {user.email} подключил приложение-аутентификатор.",
                       details={"user_id": user.id})
        self.session.commit()

    def issue_enrolment_link(self, email: str, actor: str) -> str:
        """A one-time token for the staff member's first (or, after a reset, next) authenticator.

        Only its SHA-256 is stored; a new link replaces an older one. Journaled with `actor`.
        """
        user = self.find_by_email(email or "")
        if user is None:
            raise errors.UserNotFound()
        if not user.is_staff:
            raise errors.NotStaff()
        if user.totp_secret:
            raise errors.TotpAlreadyEnrolled("Приложение-аутентификатор уже подключено. Чтобы подключить "
                                             "новое, сначала сбросьте второй фактор.")
        token = secrets.token_urlsafe(32)
        user.enrol_token_hash = _token_hash(token)
        user.enrol_expires_at = self.clock() + ENROL_LINK_TTL
        journal.record(self.session, None, "enrolment_link_issued", actor=actor,
                       message=f"Выдана ссылка для подключения приложения-аутентификатора: {user.email}.",
                       details={"user_id": user.id})
        self.session.commit()
        return token

    def enrolment_allowed(self, user: User, link: str | None) -> bool:
        """Whether `link` is the user's live enrolment token."""
        if not link or user.enrol_token_hash is None or user.enrol_expires_at is None:
            return False
        live = aware(user.enrol_expires_at) > self.clock()
        return live and hmac.compare_digest(user.enrol_token_hash, _token_hash(link))

    def reset_totp(self, email: str, actor: str) -> bool:
        """Clear a user's second factor so they enrol again at their next login (a lost or new phone).

        Their API tokens are revoked too: they were obtained with the old factor. Returns whether a
        factor had been enrolled. Recorded in the audit journal with `actor`.
        """
        user = self.find_by_email(email or "")
        if user is None:
            raise errors.UserNotFound()
        had_secret = user.totp_secret is not None
        user.totp_secret = None
        user.totp_last_step = None
        revoked = self._end_sessions(user, revoke_tokens=True)
        journal.record(self.session, None, "totp_reset", actor=actor,
                       message=(f"Второй фактор сотрудника {user.email} сброшен: при следующем входе "
                                "он заново подключит приложение-аутентификатор."),
                       details={"user_id": user.id, "had_secret": had_secret, "tokens_revoked": revoked})
        self.session.commit()
        return had_secret

    def _matching_step(self, secret: str, otp: str | None) -> int | None:
        """The time step (within the allowed window, newest first) whose code is `otp`, or None."""
        code = re.sub(r"\s", "", otp or "")
        if not code:
            raise errors.OtpRequired()
        if not _CODE.match(code):
            raise errors.InvalidOtp("Код из приложения — шесть цифр.")
        totp = pyotp.TOTP(secret)
        now = totp.timecode(self.clock())
        for step in range(now + TOTP_WINDOW, now - TOTP_WINDOW - 1, -1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    def change_role(self, email: str, role: str, actor: str) -> User:
        """Give the account another role; its sessions and API tokens end (they were granted for the old one)."""
        if role not in ROLES:
            raise errors.UnknownRole(f"Неизвестная роль «{role}». Допустимые роли: {', '.join(ROLES)}.")
        user = self._existing(email)
        previous, user.role = user.role, role
        self._end_sessions(user, revoke_tokens=True)
        journal.record(self.session, None, "role_changed", actor=actor,
                       message=f"Роль пользователя {user.email} изменена: {previous} → {role}; сеансы завершены.",
                       details={"user_id": user.id, "from": previous, "to": role})
        self.session.commit()
        return user

    def deactivate(self, email: str, actor: str) -> User:
        """Block the account: it can no longer log in, and its sessions and API tokens end at once."""
        user = self._existing(email)
        user.is_active = False
        self._end_sessions(user, revoke_tokens=True)
        journal.record(self.session, None, "user_deactivated", actor=actor,
                       message=f"Учётная запись {user.email} заблокирована; сеансы завершены.",
                       details={"user_id": user.id})
        self.session.commit()
        return user

    def _existing(self, email: str) -> User:
        user = self.find_by_email(email or "")
        if user is None:
            raise errors.UserNotFound()
        return user

    def find_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == normalize_email(email)))

    def check_own_password(self, user: User, password: str) -> None:
        """Re-authentication before a sensitive change of the signed-in user's account (e-mail, deletion)."""
        if not verify_password(user.password_hash, password or ""):
            raise errors.WrongPassword()

    def get_active_user(self, user_id: int) -> User | None:
        user = self.session.get(User, user_id)
        return user if user is not None and user.is_active else None

    def session_user(self, session_id: str) -> User | None:
        """The active user a login session's id (`User.get_id()`: `<id>.<version>`) still belongs to."""
        user_id, _, version = session_id.partition(".")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = self.get_active_user(int(user_id))
        return user if user is not None and (user.session_version or 0) == int(version) else None

    # ------------------------------------------------------------------ API tokens
    def issue_token(self, user: User) -> IssuedToken:
        now = self.clock()
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + TOKEN_TTL
        self.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= now))
        self.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(raw), created_at=now,
                                  expires_at=expires_at))
        self.session.commit()
        return IssuedToken(raw, expires_at)

    def resolve_token(self, raw: str) -> User | None:
        """The active user a live token belongs to, or None; notes when the token was last used.

        Every API request pays for this lookup, so it is one statement built once: the user as the ORM
        object the views work with, the token's own columns as plain values (no second entity to load and
        track), and the note of its use, at most once a minute, a plain UPDATE. Nothing is remembered
        between requests: a revoked token or a deactivated user is refused on the next request.
        """
        if not raw.startswith(TOKEN_PREFIX):
            return None
        found = self.session.execute(_TOKEN_AND_USER, {"token_hash": _token_hash(raw)}).first()
        now = self.clock()
        if found is None or aware(found.expires_at) <= now or not found.User.is_active:
            return None
        last = aware(found.last_used_at)
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self.session.execute(_NOTE_TOKEN_USE, {"token_id": found.token_id, "now": now})
            self.session.commit()
        return found.User

    def revoke_token(self, raw: str) -> bool:
        row = self._token_row(raw)
        if row is None:
            return False
        self.session.delete(row)
        self.session.commit()
        return True

    def _token_row(self, raw: str) -> ApiToken | None:
        if not raw.startswith(TOKEN_PREFIX):
            return None
        return self.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))

    # ------------------------------------------------------------------ administration
    def create_user(self, email: str, role: str, password: str | None = None,
                    **profile: str | None) -> tuple[User, str | None]:
        """An active account made by an administrator; returns it and the generated password, if any."""
        if role not in ROLES:
            raise errors.UnknownRole(f"Неизвестная роль «{role}». Допустимые роли: {', '.join(ROLES)}.")
        email = normalize_email(email)
        if (problem := check_email(email)) is not None:
            raise errors.InvalidEmail(problem.message)
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        problem = password_problem(password, personal=(email, *(str(v) for v in profile.values() if v)))
        if problem:
            raise errors.WeakPassword(problem)
        if self.find_by_email(email) is not None:
            raise errors.EmailTaken()
        now = self.clock()
        user = User(email=email, role=role, password_hash=hash_password(password), is_active=True,
                    activated_at=now, created_at=now,
                    **{k: v for k, v in profile.items() if k in _PROFILE_FIELDS})
        self.session.add(user)
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            raise errors.EmailTaken() from exc
        return user, generated


def personal_words(user: User) -> tuple[str, ...]:
    """What a person's password must not be made of: their e-mail, names and birth date."""
    words: list[str] = [user.email, user.last_name or "", user.first_name or "", user.middle_name or ""]
    if user.birth_date is not None:
        words.append(user.birth_date.isoformat())
    return tuple(w for w in words if w)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
