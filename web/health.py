"""GET /api/v1/health: every part of the system, each "ok" or "error".

The answer is public (load balancers and monitors call it without credentials), so it names no
reason: an exception's text can carry host names, paths or SQL. Each reason goes to the log for
operators, and an administrator's request (session or Bearer token) gets the reasons in the answer.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, jsonify
from rq import Worker
from sqlalchemy import text

from tasks.accounts.roles import ADMIN
from tasks.http import shared_pool
from tasks.scheduler import HEARTBEAT_KEY

from .extensions import db
from .security import current_actor, public
from .services import app_config, services

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _check(fn) -> str:
    try:
        return fn()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}: {exc}"[:300]


def _db() -> str:
    db.session.execute(text("SELECT 1"))
    return "ok"


def _redis() -> str:
    services().redis.ping()
    return "ok"


def _workers() -> str:
    workers = Worker.all(connection=services().redis)
    return "ok" if workers else "error: no worker is running"


def _scheduler() -> str:
    raw = services().redis.get(HEARTBEAT_KEY)
    if raw is None:
        return "error: no scheduler heartbeat"
    age = time.time() - float(raw)
    return "ok" if age < 30 else f"error: last heartbeat {age:.0f} s ago"


def _registry() -> str:
    """The registry service answers /health and reports every registry healthy (no fault in force)."""
    url = app_config().registry_url
    resp = shared_pool(url).request("GET", f"{url}/health", timeout=2.0)
    if resp.status != 200:
        return f"error: {url}/health answered {resp.status}"
    body = resp.json()
    if body.get("status") == "ok":
        return "ok"
    bad = ", ".join(f"{name} {state}" for name, state in body.get("registries", {}).items() if state != "ok")
    return f"error: {bad or body.get('status')}"


@bp.get("/health")
@public
def health():
    parts = {"db": _check(_db), "redis": _check(_redis), "registry": _check(_registry),
             "workers": _check(_workers), "scheduler": _check(_scheduler)}
    failing = {name: state for name, state in parts.items() if state != "ok"}
    for name, state in failing.items():
        log.warning("health: %s %s", name, state)
    actor = current_actor()
    if actor is None or actor.role != ADMIN:
        parts = {name: "ok" if state == "ok" else "error" for name, state in parts.items()}
    return jsonify(parts), 503 if failing else 200
