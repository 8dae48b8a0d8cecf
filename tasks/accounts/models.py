"""Tables of user accounts.

Secrets are never stored as given: passwords as argon2 hashes, activation codes as HMACs under the
application secret (a six-digit code has too little entropy for a plain hash: anyone reading the
table could try all million values), API tokens as SHA-256 digests (they are long random strings,
so a fast hash is enough and lookups stay a single indexed equality), one-time enrolment links likewise.
TOTP secrets cannot be hashed - the server computes the codes it checks from them - so they are sealed
with a key derived from the application secret (tasks/accounts/secret_box.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base

from .roles import ROLE_LABELS, STAFF_ROLES

# How a deleted account is named wherever its id still appears (the journal, the cases it filed).
DELETED_NAME = "Удалённая учётная запись"


class User(Base):
    """A person with a login: a citizen or a staff member.

    It answers what the login manager of the web pages asks of a user (is_authenticated, is_active,
    is_anonymous, get_id) itself, so the domain and the workers never import the web's login library.
    """

    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("email", name="uq_app_user_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # always lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Sealed base32 TOTP secret of staff who enrolled a second factor (set only once they confirmed a code).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    # The last 30-second time step whose code was accepted: a code is good for one login only, so one
    # seen over a shoulder or captured by a phishing page cannot be used again (RFC 6238, 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # The one-time link an administrator issued for this staff member's first authenticator (SHA-256 of
    # its token) and until when it works: the password alone never enrols a second factor.
    enrol_token_hash: Mapped[str | None] = mapped_column(String(64))
    enrol_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The citizen's consent to SMS notices (registration checkbox, «Настройки уведомлений»); off by default.
    sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Part of the id a login session carries (get_id): raising it ends every session of the person at once
    # (logout, password change or reset, TOTP reset, role change, deactivation). A signed cookie cannot be
    # taken back, so the server refuses every cookie made under an older version instead.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # The login manager's questions; an account that is not (or no longer) active counts as not logged in.
    @property
    def is_authenticated(self) -> bool:
        return bool(self.is_active)

    @property
    def is_anonymous(self) -> bool:
        return False

    # Equal when they stand for the same login session (two loads of one row in different sessions).
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, User):
            return self.get_id() == other.get_id()
        return NotImplemented

    def get_id(self) -> str:
        """The session's user id: `<id>.<session_version>`, so a cookie of an ended session never loads."""
        return f"{self.id}.{self.session_version or 0}"

    # What the service asks of every applicant, kept to pre-fill applications: ЕНП (16 digits), ИНН (12) and
    # СНИЛС (11; with the birth date it also finds «Мой полис» when the profile has no ЕНП).
    enp: Mapped[str | None] = mapped_column(String(16))
    inn: Mapped[str | None] = mapped_column(String(12))
    snils: Mapped[str | None] = mapped_column(String(11))
    # Set when the person deleted the account: it is deactivated and its personal data minimised (cases stay).
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def full_name(self) -> str:
        """«Фамилия Имя Отчество», or the e-mail address for accounts created without a name."""
        if self.deleted_at is not None:
            return DELETED_NAME
        parts = [p for p in (self.last_name, self.first_name, self.middle_name) if p]
        return " ".join(parts) or self.email

    @property
    def short_name(self) -> str:
        """«Фамилия И. О.» for the header, where the whole name would push the menu onto a second line."""
        if not self.last_name:
            return self.full_name
        initials = "\u00a0".join(f"{part[0]}." for part in (self.first_name, self.middle_name) if part)
        return f"{self.last_name}\u00a0{initials}" if initials else self.last_name

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class OneTimeCode:
    """Columns of a six-digit code mailed to a person: one live code per user, HMAC-ed, counted attempts."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong entries so far


class ActivationCode(OneTimeCode, Base):
    """The one live activation code of a not yet activated account."""

    __tablename__ = "activation_code"
    __table_args__ = (UniqueConstraint("user_id", name="uq_activation_code_user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_activation_code_user_id"))


class PasswordResetCode(OneTimeCode, Base):
    """The one live password-reset code of an active account («Забыли пароль?»)."""

    __tablename__ = "password_reset_code"
    __table_args__ = (UniqueConstraint("user_id", name="uq_password_reset_code_user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_password_reset_code_user_id"))


class ApiToken(Base):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_token_token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE", name="fk_api_token_user_id"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailChange(Base):
    """A requested change of a user's e-mail address, waiting for the code mailed to the new address.

    One per user: a new request replaces it. The code is HMAC-ed like activation codes and burns after
    MAX_CODE_ATTEMPTS wrong entries.
    """

    __tablename__ = "email_change"
    __table_args__ = (UniqueConstraint("user_id", name="uq_email_change_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE",
                                                    name="fk_email_change_user_id"))
    new_email: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class LegalAcceptance(Base):
    """That a user accepted a version of a legal document (the user agreement, the personal-data consent).

    Rows are never changed or deleted, not even with the account: the operator must be able to prove
    the consent it processed data under (152-ФЗ ст. 9 ч. 3). `sha256` is of the exact text shown.
    """

    __tablename__ = "legal_acceptance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", name="fk_legal_acceptance_user_id"), index=True)
    document: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(10))  # "page" or "api"
