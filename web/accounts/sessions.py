"""Ending a person's sessions when their account changes under them (e-mail changed, account deleted).

The one call point for it. Today it revokes every API token; browser sessions other than the current
one end with the session revocation of the password-reset work, which plugs in here. A deleted
account's sessions end anyway: the login loader only loads active accounts.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .models import ApiToken, User


def end_sessions(session: Session, user: User, reason: str) -> int:
    """Revoke the user's API tokens (no commit: part of the caller's change); returns how many.

    `reason` ("email_changed", "account_deleted") is for the session revocation to journal.
    """
    return session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0
