"""The login gate: a citizen who has not accepted the current legal documents can do nothing else.

Checked before every request of a signed-in citizen (staff accept no portal documents). Pages send
the person to the acceptance page and back; the API answers 403 `consent_required` naming each
document and version to accept through `POST /api/v1/legal/acceptances`. A session remembers the
versions it checked, so pages query the database only when a version changed; for API tokens the app
remembers the same (user, versions) pairs it found accepted. Either holds because an acceptance is never
withdrawn: a new version in force changes the pair, and the check runs again.
"""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import FieldError
from tasks.accounts.roles import CITIZEN
from tasks.errors import ApiError
from tasks.legal.acceptance import edition, pending
from tasks.legal.catalogue import Catalogue, load_catalogue

from ..api_errors import is_api_request
from ..extensions import db
from ..security import current_actor
from ..services import app_config

SESSION_KEY = "legal_checked"  # (user id, catalogue fingerprint) the session was last found up to date with
# The app's memory of (user id, catalogue fingerprint) pairs found accepted, for API calls; forgotten whole
# when it grows past MEMO_LIMIT (it is a shortcut, never the record).
MEMO_KEY = "backoffice_legal_accepted"
MEMO_LIMIT = 100_000
# What a person who has not accepted may still do: read the documents, accept them, leave, delete the account.
OPEN_BLUEPRINTS = frozenset({"legal", "legal_api", "demo_mailbox"})
OPEN_ENDPOINTS = frozenset({"static", "accounts.logout", "auth_api.me", "auth_api.revoke_token",
                            "account.delete_account", "account_api.delete_account"})
CONSENT_REQUIRED = ("Чтобы продолжить, примите действующие редакции документов. Прочитайте их и подтвердите "
                    "согласие: POST /api/v1/legal/acceptances.")


def current_catalogue() -> Catalogue:
    """The documents in force for this app (LEGAL_DOCUMENTS_DIR, by default the bundled ones)."""
    return load_catalogue(app_config().legal_dir)


def _exempt() -> bool:
    return request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS or request.endpoint is None


def require_acceptance() -> Response | None:
    """before_request: let the request through, or send the citizen to accept the new versions first."""
    actor = current_actor()
    if actor is None or actor.role != CITIZEN or _exempt():
        return None
    catalogue = current_catalogue()
    api = is_api_request()
    mark = [actor.id, catalogue.fingerprint]
    memo: set[tuple[int, str]] = current_app.extensions.setdefault(MEMO_KEY, set())
    checked = (actor.id, catalogue.fingerprint) in memo if api else session.get(SESSION_KEY) == mark
    if checked:
        return None
    missing = pending(db.session, actor.id, catalogue)
    if not missing:
        if not api:
            session[SESSION_KEY] = mark
        else:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo.add((actor.id, catalogue.fingerprint))
        return None
    if api:
        raise ApiError(403, "consent_required", CONSENT_REQUIRED, [
            FieldError(d.field, "consent_required", f"Примите документ «{d.title}» ({edition(d)}), "
                                                    f"передав {d.field}: «{d.version}»") for d in missing])
    wanted = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("legal.accept", next=wanted))


def init_app(app: Flask) -> None:
    """Install the gate; after security.init_app, so that Bearer tokens are resolved first."""
    app.before_request(require_acceptance)
