"""Ending every session of a person: the one place that does it.

A login session carries the account's `session_version` (`User.get_id`); raising it makes every cookie
made earlier load nobody, wherever it was copied to. Logout, a password reset, a TOTP reset, a role
change, deactivation, an e-mail change and account deletion all come here; all but logout also revoke
the person's API tokens.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from .models import ApiToken, User


def end_sessions(session: Session, user: User, *, revoke_tokens: bool = True) -> int:
    """Raise the session version atomically (no commit: part of the caller's change); returns how many API
    tokens were revoked."""
    session.execute(update(User).where(User.id == user.id)
                    .values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session=False))
    session.refresh(user, ["session_version"])
    if not revoke_tokens:
        return 0
    return session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0
