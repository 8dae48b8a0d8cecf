"""Who is asking, and may they: sessions, Bearer tokens, roles, CSRF, cookies and security headers.

Pages authenticate with the session cookie (Flask-Login); the JSON API with
`Authorization: Bearer <token>` or, for the portal's own scripts, with the session cookie too.
CSRF follows from that: a cookie is an ambient credential a foreign site can make the browser send,
a Bearer header is not. So every page form and every mutating API request that relies on the
session must carry the CSRF token (form field `csrf_token` or header `X-CSRFToken`, the value of
`<meta name="csrf-token">`); Bearer requests and requests without any session login are exempt.

A login session can be ended from the server: its user id is `<id>.<session_version>` (User.get_id)
and raising the version (logout, password reset, TOTP reset, role change, deactivation) makes every
older cookie load nobody. Staff sessions also end after `STAFF_SESSION_IDLE_MINUTES` without a
request and `STAFF_SESSION_MAX_HOURS` after the login (times kept in the signed session).

Every view declares who may call it - `public`, `login_required_page`, `api_auth_required` or
`roles_required(...)` - and `unguarded_endpoints(app)` lists the ones that forgot, for a test to
assert on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.settings import Settings
from tasks.accounts.models import User
from tasks.accounts.roles import ROLES
from tasks.accounts.service import AccountService
from tasks.config import AppConfig
from tasks.errors import ApiError

from . import api_errors, embed, rate_limits
from .api_errors import is_api_request
from .extensions import db
from .navigation import login_reason
from .services import app_config

F = TypeVar("F", bound=Callable[..., Any])

SESSION_LIFETIME = timedelta(hours=8)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Every response for a logged-in caller: never stored by a browser, a proxy or a shared cache.
NO_STORE = "no-store, private"
LOGIN_AT, SEEN_AT = "login_at", "seen_at"  # session keys: when the login happened, when the last request came
# Requests a page makes by itself (inbox.js asks every 15 s) are no sign of a person at the keyboard: they do
# not renew the idle clock, or an inbox left open would never time out.
BACKGROUND_ENDPOINTS = frozenset({"inbox.poll"})
ACCESS_ATTR = "_access"

login_manager = LoginManager()
csrf = CSRFProtect()


# ---------------------------------------------------------------------- who is asking
def account_service() -> AccountService:
    """The account service on this request's database session."""
    return AccountService(db.session, current_app.config["SECRET_KEY"])


def current_actor() -> User | None:
    """The user behind this request: Bearer token first (API), then the session login."""
    if g.get("api_user") is not None:
        return g.api_user
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the session's user while the session is still theirs and, for staff, fresh."""
    user = account_service().session_user(session_id)
    if user is None:
        return None
    now = time.time()
    if user.is_staff and _staff_session_expired(now):
        session.clear()
        return None
    if request.endpoint not in BACKGROUND_ENDPOINTS:
        session[SEEN_AT] = int(now)
    return user


def _staff_session_expired(now: float) -> bool:
    config: AppConfig = app_config()
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return True  # a session made before these times were kept
    return (now - seen_at > config.staff_session_idle_minutes * 60
            or now - login_at > config.staff_session_max_hours * 3600)


def start_session(user: User) -> None:
    """Log the user in on this session (after every factor was checked), with its clock started."""
    login_user(user)
    session.permanent = True  # expires after SESSION_LIFETIME of inactivity
    session[LOGIN_AT] = session[SEEN_AT] = int(time.time())


def end_session(*, everywhere: bool = True) -> None:
    """Log out on this browser (its cookie is emptied) and, `everywhere`, end every session of the person."""
    actor = current_user._get_current_object() if current_user.is_authenticated else None
    if actor is not None and everywhere:
        account_service().end_sessions(actor)
    logout_user()
    session.clear()


def _unauthorized() -> Response:
    """Flask-Login's answer to anonymous access (also for its own `login_required`).

    The login page says why it is shown, and the login returns to the page asked for.
    """
    if is_api_request():
        raise _api_unauthorized()
    flash(login_reason(), "info")
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _api_unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "Требуется вход: передайте заголовок Authorization: Bearer <токен>.",
                    headers={"WWW-Authenticate": "Bearer"})


def _authenticate_bearer() -> None:
    """Resolve `Authorization: Bearer` on API requests; a bad token is refused, never ignored."""
    header = request.headers.get("Authorization")
    if header is None or not is_api_request():
        return
    scheme, _, token = header.partition(" ")
    user = account_service().resolve_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise ApiError(401, "invalid_token", "Токен доступа недействителен или истёк. "
                                             "Получите новый: POST /api/v1/auth/token.",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.api_user = user


# ---------------------------------------------------------------------- access declarations
def _declare(view: F, access: str) -> F:
    setattr(view, ACCESS_ATTR, access)
    return view


def public(view: F) -> F:
    """Anyone may call this view (login, registration, verification of certificates...)."""
    return _declare(view, "public")


def login_required_page(view: F) -> F:
    """A page for any logged-in user; anonymous visitors are sent to the login page and back."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _unauthorized()
        return view(*args, **kwargs)

    return _declare(guarded, "login")


def api_auth_required(view: F) -> F:
    """An API endpoint for any authenticated caller (Bearer token or session); 401 otherwise."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_actor() is None:
            raise _api_unauthorized()
        return view(*args, **kwargs)

    return _declare(guarded, "login")


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only these roles (401/login redirect for anonymous callers, 403 for other roles)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"roles_required needs known roles, got {roles!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None:
                return _unauthorized()
            if actor.role not in roles:
                if is_api_request():
                    raise ApiError(403, "forbidden", "Недостаточно прав для этого действия.")
                abort(403)
            return view(*args, **kwargs)

        return _declare(guarded, "roles:" + ",".join(roles))

    return decorate


def unguarded_endpoints(app: Flask) -> list[str]:
    """Endpoints whose view declares no access rule (static files excepted)."""
    return sorted(endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not getattr(view, ACCESS_ATTR, None))


# ---------------------------------------------------------------------- CSRF
def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    if is_api_request() and (g.get("api_user") is not None or not current_user.is_authenticated):
        return  # no ambient credential is being used
    csrf.protect()


# ---------------------------------------------------------------------- cookies and headers
def _cookie_settings(config: AppConfig) -> dict[str, Any]:
    samesite = config.session_cookie_samesite.capitalize()
    if samesite not in ("Lax", "Strict", "None"):
        raise ValueError(f"SESSION_COOKIE_SAMESITE must be Lax, Strict or None, got {samesite!r}")
    if samesite == "None" and not config.session_cookie_secure:
        raise ValueError("SESSION_COOKIE_SAMESITE=None needs SESSION_COOKIE_SECURE=1 (browsers drop the cookie)")
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": samesite,
        "SESSION_COOKIE_SECURE": config.session_cookie_secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": samesite,
        "REMEMBER_COOKIE_SECURE": config.session_cookie_secure,
        "PERMANENT_SESSION_LIFETIME": SESSION_LIFETIME,
    }


def content_security_policy(frame_ancestors: str, style_hashes: tuple[str, ...] = ()) -> str:
    """The policy of every response; `style_hashes` lets a page allow exactly these inline style attributes
    ('unsafe-hashes' with their SHA-256), never inline styles in general."""
    if any(c in frame_ancestors for c in ";,\r\n"):
        raise ValueError(f"FRAME_ANCESTORS must be a space-separated source list, got {frame_ancestors!r}")
    styles = "".join(f" '{source}'" for source in ("unsafe-hashes", *style_hashes)) if style_hashes else ""
    return (f"default-src 'self'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            f"frame-ancestors {frame_ancestors}")


HSTS_VALUE = "max-age=31536000; includeSubDomains"  # a year: browsers never try plain HTTP meanwhile


def _security_headers(csp: str, hsts: bool) -> Callable[[Response], Response]:
    def add(response: Response) -> Response:
        headers = response.headers
        if hsts:
            headers.setdefault("Strict-Transport-Security", HSTS_VALUE)
        headers.setdefault("Content-Security-Policy", csp)  # a view may set a stricter or wider one
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        # Responses for a logged-in user carry personal data: keep them out of every cache. Set, not
        # defaulted: send_file has already put its own `no-cache` (revalidate, but store) on every file.
        # Only a view that declared its response public (versioned static bundles) keeps its policy.
        # g._login_user is set only if this request looked the user up, so no extra query here; a token's
        # user was active when it was resolved (its object may have been expired by a commit since).
        login_user = g.get("_login_user")
        logged_in = g.get("api_user") is not None or (login_user is not None and login_user.is_authenticated)
        if logged_in and not response.cache_control.public:
            headers["Cache-Control"] = NO_STORE
            headers.pop("Expires", None)
        return response

    return add


# ---------------------------------------------------------------------- wiring
def init_app(app: Flask, settings: Settings, config: AppConfig) -> None:
    """Install authentication, CSRF, rate limits, error handlers and headers.

    Call it after every blueprint is registered: it applies the rate limits to the views.
    """
    app.config.update(SECRET_KEY=config.secret_key, WTF_CSRF_CHECK_DEFAULT=False,
                      WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()), **_cookie_settings(config))
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.login_view = "accounts.login"
    csrf.init_app(app)
    api_errors.init_app(app)
    embed.init_app(app)
    app.before_request(_authenticate_bearer)
    app.before_request(_check_csrf)
    app.after_request(_security_headers(content_security_policy(config.frame_ancestors), config.hsts))
    if config.trusted_proxies:
        # Behind N proxies the client is the N-th address from the right of X-Forwarded-For; without the
        # setting the header is ignored (anyone could forge it), and the peer address is the client.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=config.trusted_proxies)
    app.context_processor(lambda: {"current_actor": current_actor})
    rate_limits.init_app(app, settings, enabled=config.rate_limits)
