"""Runtime fault injection: GET/PUT/DELETE /admin/faults.

Who may call it: with REGISTRY_ADMIN_TOKEN set, whoever sends `Authorization: Bearer <token>`
(the service may then run on 0.0.0.0 in a container network); without a token, only clients on
the loopback interface. PUT takes `{"spec": "erzl:down;mvd:latency_ms=500"}` and replaces every
fault in force; DELETE clears them; all three answer with the faults now in force.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, current_app, jsonify, request

from .faults import FaultBoard, FaultSpecError, format_faults, parse_faults
from .responses import error

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _board() -> FaultBoard:
    return current_app.extensions["registry_faults"]


@bp.before_request
def _authorize():
    token = current_app.config.get("REGISTRY_ADMIN_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return error(401, "unauthorized", "Нужен токен администратора реестра.")
        return None
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return error(403, "forbidden", "Управление сбоями доступно только с этого же компьютера.")
    return None


def _state():
    faults = _board().snapshot()
    return jsonify({"spec": format_faults(faults),
                    "faults": {name: {"down": f.down, "latency_ms": f.latency_ms, "error_rate": f.error_rate}
                               for name, f in faults.items()}})


@bp.get("/faults")
def get_faults():
    return _state()


@bp.put("/faults")
def put_faults():
    body = request.get_json(silent=True)
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, str):
        return error(400, "bad_request", 'Ожидается JSON {"spec": "erzl:latency_ms=1500,error_rate=0.3;egrul:down"}.')
    try:
        faults = parse_faults(spec)
    except FaultSpecError as exc:
        return error(400, "bad_spec", "Неверное описание сбоев.", str(exc))
    _board().replace(faults)
    current_app.logger.warning("faults set: %s", format_faults(faults) or "none")
    return _state()


@bp.delete("/faults")
def delete_faults():
    _board().replace({})
    current_app.logger.warning("faults cleared")
    return _state()
