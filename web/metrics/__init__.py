"""GET /metrics: the back office's state in the Prometheus text format, for monitoring.

Readable by an administrator's browser session, by a scraper presenting
`Authorization: Bearer <METRICS_TOKEN>`, or by any request from the machine itself. "From the
machine itself" is decided by the connection's address (REMOTE_ADDR) alone: forwarding headers
are never believed, since any client can send them. They can only take the privilege away: a
request that carries `Forwarded` or `X-Forwarded-For` came through a proxy, and a proxy on the
same machine makes every outside request look local, so such a request needs the token or an
administrator like one from outside. Everyone else gets 401 (no credentials, or a wrong token)
or 403 (a logged-in user who is not an administrator).
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Flask, Response, current_app, request
from flask_login import current_user
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from ..security import ACCESS_ATTR
from ..services import app_config, services
from . import http
from .collectors import BackofficeCollector

bp = Blueprint("metrics", __name__)
ADMIN_ROLE = "admin"
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For")


def is_loopback(address: str | None) -> bool:
    """127.0.0.0/8, ::1 and an IPv4 loopback written as IPv6 (::ffff:127.0.0.1)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _token_matches(expected: str | None) -> bool | None:
    """True/False for a Bearer header against the configured token; None when none was sent."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return bool(expected) and hmac.compare_digest(given.strip().encode(), expected.encode())


def _refusal() -> Response | None:
    token = _token_matches(app_config().metrics_token)
    if token:
        return None
    if current_user.is_authenticated and current_user.role == ADMIN_ROLE:
        return None
    local = is_loopback(request.remote_addr) and not any(h in request.headers for h in FORWARDING_HEADERS)
    if local and token is None:
        return None
    if current_user.is_authenticated and token is None:
        return Response("Метрики доступны только администратору.\n", 403, mimetype="text/plain")
    message = ("Токен метрик неверен.\n" if token is False
               else "Нужен вход администратора или заголовок Authorization: Bearer <METRICS_TOKEN>.\n")
    return Response(message, 401, mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@bp.get("/metrics")
def metrics() -> Response:
    refusal = _refusal()
    if refusal is not None:
        return refusal
    # The scraper's Accept header picks the classic text format (0.0.4) or OpenMetrics.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(current_app.extensions["metrics_registry"])
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store", "Vary": "Accept"})


setattr(metrics, ACCESS_ATTR, "admin, loopback or METRICS_TOKEN")  # checked in _refusal: no role decorator fits


def init_app(app: Flask) -> None:
    """Time the app's requests and serve /metrics (outside the /api/v1 prefix, where scrapers look)."""
    found = services(app)
    registry = CollectorRegistry(auto_describe=False)  # one per app: tests build many apps in one process
    registry.register(BackofficeCollector(found.database, found.redis))
    app.extensions["metrics_registry"] = registry
    http.init_app(app)
    app.register_blueprint(bp)
