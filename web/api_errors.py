"""One error shape for the whole JSON API, HTML error pages for everything else.

Every /api/v1 error, whether raised on purpose (`ApiError`), by the engine (`EngineError`), by
Werkzeug (404, 405, 413, 415), by Flask-Limiter (429), by Flask-WTF (CSRF) or by a bug (500), leaves
as `{"error": {"code", "message", "fields": [...]}}` with a Russian message (the API's one error shape). Pages
get `templates/errors/error.html` with the same Russian texts, so people never see Werkzeug's
English defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from engine.errors import Conflict, DataValidationError, EngineError, FieldError, NotFound
from tasks.cases.storage import StorageFull
from tasks.errors import ApiError  # the domain raises it too; answered here

from .extensions import db

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


# status -> (code, message for API clients, page title)
_STATUS_TEXTS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Некорректный запрос.", "Некорректный запрос"),
    401: ("unauthorized", "Требуется вход в систему.", "Требуется вход"),
    403: ("forbidden", "Недостаточно прав для этого действия.", "Доступ запрещён"),
    404: ("not_found", "Запрошенный объект не найден.", "Страница не найдена"),
    405: ("method_not_allowed", "Этот метод запроса не поддерживается.", "Действие недоступно"),
    409: ("conflict", "Данные уже изменены другим действием. Обновите страницу.", "Конфликт данных"),
    410: ("gone", "Файл удалён по истечении срока хранения.", "Файл удалён"),
    413: ("too_large", "Слишком большой запрос или файл.", "Слишком большой файл"),
    415: ("unsupported_media_type", "Неподдерживаемый формат данных.", "Неподдерживаемый формат"),
    422: ("validation_failed", "Проверьте введённые данные.", "Ошибка в данных"),
    429: ("rate_limited", "Слишком много попыток. Повторите через несколько минут.", "Слишком много попыток"),
    500: ("internal_error", "Внутренняя ошибка сервера. Попробуйте позже.", "Ошибка сервера"),
    503: ("unavailable", "Сервис временно недоступен. Попробуйте позже.", "Сервис недоступен"),
    507: ("storage_full", "Файл не сохранён: в хранилище сервиса закончилось место. Ваши данные не изменены, "
                          "загрузите файл ещё раз позже.", "Файл не сохранён"),
}
# Pages speak to people rather than to API clients where the API wording reads like a machine's.
_PAGE_MESSAGES: dict[int, str] = {
    403: "У вашей учётной записи нет доступа к этой странице. Ваши разделы — в меню вверху страницы.",
    404: "Такой страницы нет. Возможно, ссылка устарела, заявление открыто не из вашей учётной записи "
         "или в адресе опечатка. Проверьте адрес или перейдите на главную страницу.",
}
_CSRF_MESSAGE = ("Запрос отклонён: не передан или устарел токен защиты от подделки запросов (CSRF). "
                 "Обновите страницу и повторите действие.")


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def status_text(status: int) -> tuple[str, str, str]:
    """(code, message, page title) for a status; unknown statuses fall back to their class."""
    return _STATUS_TEXTS.get(status) or _STATUS_TEXTS[500 if status >= 500 else 400]


def error_response(status: int, code: str, message: str, fields: Sequence[FieldError] = (),
                   headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message,
                      "fields": [{"field": f.field, "code": f.code, "message": f.message} for f in fields]}}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


# The FAQ answer (web/faq/answers/<name>.md) an error page links to: what to do about it.
ERROR_ANSWERS = {403: "access-denied", 404: "page-not-found", 413: "files", 415: "files", 429: "too-many-attempts"}


def error_page(status: int, message: str | None = None, title: str | None = None) -> tuple[str, int]:
    _, default_message, default_title = status_text(status)
    html = render_template("errors/error.html", status=status, title=title or default_title,
                           message=message or _PAGE_MESSAGES.get(status, default_message), help_url=_help_url(status))
    return html, status


def _help_url(status: int) -> str | None:
    """The FAQ's answer to this error, or the FAQ itself (None in an app without the FAQ's pages)."""
    answer = ERROR_ANSWERS.get(status)
    try:
        return url_for("faq.page", slug=answer) if answer else url_for("faq.index")
    except BuildError:
        return None


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or the API error (415 not JSON, 400 malformed)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Ожидается тело запроса в формате JSON "
                                                      "(Content-Type: application/json).")
    data = request.get_json()  # a body we cannot read raises 400 invalid_json (web/request_parsing.py)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "Тело запроса должно быть JSON-объектом.")
    return data


def _handle_api_error(exc: ApiError) -> Response | tuple[str, int]:
    if is_api_request():
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)
    return error_page(exc.status, exc.message)


def _handle_engine_error(exc: EngineError) -> Response | tuple[str, int]:
    status = 422 if isinstance(exc, DataValidationError) else 404 if isinstance(exc, NotFound) \
        else 409 if isinstance(exc, Conflict) else 400
    code, message, _ = status_text(status)
    if not is_api_request():
        return error_page(status)
    fields = exc.fields if isinstance(exc, DataValidationError) else []
    return error_response(status, exc.code or code, message, fields)


def _handle_csrf(exc: CSRFError) -> Response | tuple[str, int]:
    log.info("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
    if is_api_request():
        return error_response(403, "csrf_failed", _CSRF_MESSAGE)
    return error_page(400, _CSRF_MESSAGE, "Форма устарела")


def _handle_http(exc: HTTPException) -> Response | tuple[str, int]:
    status = exc.code or 500
    code, message, _ = status_text(status)
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    if is_api_request():
        return error_response(status, code, message, headers=headers)
    html, _ = error_page(status)
    return Response(html, status, headers=headers, content_type="text/html; charset=utf-8")


def _handle_storage_full(exc: StorageFull) -> Response | tuple[str, int]:
    """The upload disk is full: a clear 507 (the person may retry later), and nothing of the request stored."""
    log.error("upload not stored on %s %s: %s", request.method, request.path, exc)
    db.session.rollback()
    code, message, _ = status_text(507)
    if is_api_request():
        return error_response(507, code, message)
    return error_page(507, message)


def _handle_unexpected(exc: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    code, message, _ = status_text(500)
    if is_api_request():
        return error_response(500, code, message)
    return error_page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(EngineError, _handle_engine_error)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(StorageFull, _handle_storage_full)
    app.register_error_handler(Exception, _handle_unexpected)
