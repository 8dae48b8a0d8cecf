"""Rate limits on the authentication endpoints (Flask-Limiter, counters in the app's Redis).

Each protected view is marked with `@rate_limited("<group>")`; a group has one budget per e-mail
address and one per client IP, shared by the page and the API endpoint of the same action (so an
attacker gains nothing by alternating them). Only attempts the view *charges* are counted
(`charge_attempt()`): failed logins, failed activation codes, registrations that reached the
mailer or hit an existing address. A citizen who logs in successfully many times, or fixes a typo
in the registration form, never gets locked out; a password guesser does.

The Limiter is built per app in `init_app`, which wraps the marked views of that app; a module-level
Limiter would bind every app in the process to the storage of the last one initialised.
E-mail keys are SHA-256 digests: Redis never holds the addresses themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from engine.context import redis_url
from engine.settings import Settings
from tasks.accounts.service import normalize_email

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class AttemptBudget:
    per_email: str | None
    per_ip: str
    every_request: bool = False  # public lookups: every request counts (GET too), not only charged ones


BUDGETS: dict[str, AttemptBudget] = {
    "login": AttemptBudget(per_email="5 per 5 minutes", per_ip="50 per 5 minutes"),
    "register": AttemptBudget(per_email="5 per hour", per_ip="50 per hour"),
    "activate": AttemptBudget(per_email="10 per 15 minutes", per_ip="50 per 15 minutes"),
    # A new activation code: every request counts (each one may send a letter).
    "resend": AttemptBudget(per_email="3 per 30 minutes", per_ip="20 per hour"),
    # «Забыли пароль?»: every request counts (each one sends a letter); the code entry like activation.
    "reset": AttemptBudget(per_email="3 per 30 minutes", per_ip="20 per hour"),
    "reset_confirm": AttemptBudget(per_email="10 per 15 minutes", per_ip="50 per 15 minutes"),
    # Certificate verification and the policy check answer anyone: a budget per IP keeps them from
    # being used to enumerate numbers or birth dates.
    "lookup": AttemptBudget(per_email=None, per_ip="30 per minute", every_request=True),
    # Colleague access to an organisation's case: every grant attempt counts, per address granted and per IP.
    "grant": AttemptBudget(per_email="10 per hour", per_ip="100 per 10 minutes"),
    # A signed-in citizen's sensitive account actions: wrong passwords and codes, and every code mailed.
    "account": AttemptBudget(per_email=None, per_ip="20 per 15 minutes"),
}
_MARK = "_rate_limit_group"
_APPLIED = "_rate_limit_applied"


def rate_limited(group: str) -> Callable[[F], F]:
    """Mark a view as drawing on the `group` budget; the app's limiter is applied in init_app."""
    if group not in BUDGETS:
        raise ValueError(f"unknown rate-limit group {group!r}")

    def mark(view: F) -> F:
        setattr(view, _MARK, group)
        return view

    return mark


def charge_attempt() -> None:
    """Count this request against its group's budgets (decided after the view has run)."""
    g.rate_limit_charged = True


def _charged(_response) -> bool:
    return bool(g.get("rate_limit_charged"))


def _email_key() -> str:
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    email = normalize_email(email) if isinstance(email, str) else ""
    return "email:" + (hashlib.sha256(email.encode()).hexdigest()[:32] if email else "none")


def _ip_key() -> str:
    return "ip:" + get_remote_address()


def storage_uri(settings: Settings) -> str:
    """The app's Redis in Flask-Limiter's spelling (`redis+unix://` for the embedded socket)."""
    url = redis_url(settings)
    return "redis+" + url if url.startswith("unix://") else url


def init_app(app: Flask, settings: Settings, enabled: bool) -> Limiter:
    """Create the app's limiter and apply it to every marked view registered so far."""
    limiter = Limiter(key_func=_ip_key, storage_uri=storage_uri(settings), strategy="moving-window",
                      key_prefix="backoffice", headers_enabled=True, swallow_errors=True, enabled=enabled)
    limiter.init_app(app)
    for endpoint, view in list(app.view_functions.items()):
        group = getattr(view, _MARK, None)
        if group is None or getattr(view, _APPLIED, False):
            continue
        budget = BUDGETS[group]
        wrapped = view
        for kind, value, key in (("email", budget.per_email, _email_key), ("ip", budget.per_ip, _ip_key)):
            if value is None:
                continue
            wrapped = limiter.shared_limit(value, scope=f"{group}-{kind}", key_func=key,
                                           methods=None if budget.every_request else ["POST"],
                                           deduct_when=None if budget.every_request else _charged)(wrapped)
        setattr(wrapped, _APPLIED, True)
        app.view_functions[endpoint] = wrapped
    app.before_request(_refuse_unlimited_views)
    app.extensions["backoffice_limiter"] = limiter
    return limiter


def _refuse_unlimited_views() -> None:
    """A marked view registered after init_app would run without limits: fail loudly instead."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, _MARK, None) and not getattr(view, _APPLIED, False):
        raise RuntimeError(f"view {request.endpoint} is rate-limited but was registered after "
                           "web.security.init_app(); register blueprints first")
