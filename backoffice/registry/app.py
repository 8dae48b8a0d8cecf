"""The registry service: a stand-in for the state registries the back office checks applications against.

Production points REGISTRY_URL at a real gateway with this same API; everywhere else this
Flask app serves a JSON dataset (`REGISTRY_DATA`, the bundled demo dataset when unset).
All bodies are JSON; errors are `{"error": {"code", "message"}}`. People are looked up by POST with
the identifiers in the body, so that no URL (and no access log) carries personal data.

Endpoints::

    GET /health                                  200 {"status": "ok"|"degraded",
                                                      "registries": {"mvd": "ok"|"down"|"degraded", ...},
                                                      "records": {"persons": n, ...}}
    POST /mvd/passport {series, number}          МВД: {series, number, issued_on, issued_by, division_code,
                                                      status: valid|expired|replaced|lost,
                                                      holder: {last_name, first_name, middle_name, birth_date}}
    POST /sfr/person {snils}                     СФР: {snils, holder: {...}} (separators in the СНИЛС allowed)
    POST /erzl/policy {enp}                      ЕРЗЛ: one policy (below)
    POST /erzl/policies {snils, birth_date}      ЕРЗЛ: {"policies": [policy, ...]}, current and past ones
    POST /erzl/personal-data {enp, birth_date,  ЕРЗЛ: change the insured person's ФИО and passport:
         last_name, first_name, middle_name?,     {enp, changed, holder, passport} (the one write; the
         passport: {series, number, ...}}         replaced passport stays findable, as replaced)
        policy = {enp, snils, birth_date, insurer: {name, code}, region, valid_from, valid_to (null =
                  unlimited), status: active|annulled|expired, reason (Russian text, null when active),
                  holder: {...} | null}
    GET /egrul/organizations/<inn-or-ogrn>       ЕГРЮЛ: the organisation record (10 digits: ИНН, 13: ОГРН)
    GET /mo/organizations[?program=...]          medical organisations: {"organizations": [...]}
    GET /mo/organizations/<ogrn>                 one medical organisation
    /clinic/...                                  the clinics' schedules and bookings (clinics.py)
    GET|PUT|DELETE /admin/faults                 fault injection at runtime (see admin.py)

Status codes tell the outcomes apart: 200 found; 404 with code `not_found` - no such record
(any other 404 code means a wrong address, not an absent record); 400 `bad_request` - malformed
key; 503 `unavailable` - the registry is down; 500 `internal_error` - it failed. Only the last
two are worth retrying. Faults (faults.py) apply per registry, to its endpoints only: latency
first, then `down`, then `error_rate`.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from .admin import bp as admin_bp
from .dataset import load_dataset
from .faults import REGISTRIES, FaultBoard, parse_faults
from .lookups import BLUEPRINTS
from .responses import error

# As they read after "Сервис ..." (genitive where it matters).
REGISTRY_TITLES = {"mvd": "МВД", "sfr": "СФР", "erzl": "ЕРЗЛ", "egrul": "ЕГРЮЛ",
                   "mo": "реестра медицинских организаций", "clinic": "записи к врачу"}


def create_registry_app(data_path: str | Path | None, faults_spec: str | None = None, *,
                        admin_token: str | None = None) -> Flask:
    """Load and validate the dataset (DatasetError if it is wrong) and build the app.

    `faults_spec` is the REGISTRY_FAULTS syntax (FaultSpecError if wrong); `admin_token`, when
    given, is required by the admin endpoint, which is otherwise open to loopback clients only.
    """
    dataset = load_dataset(data_path)
    board = FaultBoard(parse_faults(faults_spec))
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["REGISTRY_ADMIN_TOKEN"] = admin_token or None
    app.extensions["registry_dataset"] = dataset
    app.extensions["registry_faults"] = board
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.before_request(_inject_fault)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.add_url_rule("/health", view_func=_health)
    return app


def _inject_fault():
    registry = request.blueprint
    if registry not in REGISTRIES:
        return None
    board: FaultBoard = current_app.extensions["registry_faults"]
    fault = board.get(registry)
    if fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)
    if fault.down:
        return error(503, "unavailable", f"Сервис {REGISTRY_TITLES[registry]} временно недоступен.")
    if board.roll_error(fault):
        return error(500, "internal_error", f"Внутренняя ошибка сервиса {REGISTRY_TITLES[registry]}.")
    return None


def _health():
    faults = current_app.extensions["registry_faults"].snapshot()
    states = {name: ("down" if faults[name].down else "degraded") if name in faults else "ok"
              for name in REGISTRIES}
    return {"status": "ok" if not faults else "degraded", "registries": states,
            "records": current_app.extensions["registry_dataset"].counts()}


def _http_error(exc: HTTPException):
    if exc.code == 404:
        return error(404, "no_such_endpoint", f"Нет такого адреса: {request.path}")
    if exc.code == 405:
        return error(405, "method_not_allowed", f"Метод {request.method} не поддерживается для {request.path}")
    return error(exc.code or 500, "bad_request" if (exc.code or 500) < 500 else "internal_error",
                 exc.description or "Ошибка запроса.")


def _unexpected_error(exc: Exception):
    current_app.logger.exception("unexpected error: %s", exc)
    return error(500, "internal_error", "Внутренняя ошибка сервиса реестров.")
