"""Logging of every `backoffice` process: one format for all lines, context on each, no library chatter.

`LOG_FORMAT=text` (the default) writes the familiar one-line text; `LOG_FORMAT=json` writes one JSON
object per line (python-json-logger) for log collectors, with `request_id`, `case_number` and
`job_id` wherever the line was written inside a web request, a case's processing or an RQ job
(engine.log_context). Gunicorn's own loggers are routed to the same handler, so its access lines
come out in the same format and carry the request id too.

Access lines never carry a query string (nor the Referer's): queries may hold personal data - an
inbox search by СНИЛС, a name - and a log is read by more people than the data's own pages are.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from gunicorn.glogging import Logger as GunicornBaseLogger
from pythonjsonlogger.json import JsonFormatter

from engine.log_context import ContextFilter, bind, log_context, unbind

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# A request id a proxy sent along is kept (it ties our lines to the proxy's); anything else is replaced.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Libraries that write INFO lines nobody acts on: SpiffWorkflow's task steps, HTTP clients' requests,
# WeasyPrint's rendering steps (dozens per PDF), fontTools' subsetting, Alembic's plugin set-up.
QUIET_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "SpiffWorkflow", "httpx", "httpcore", "urllib3",
                 "weasyprint.progress", "fontTools", "alembic.runtime.plugins")


def log_format(env: Mapping[str, str]) -> str:
    value = (env.get("LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return value


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":  # time: ISO 8601 in UTC; Cyrillic as it is, not as \u escapes
        return JsonFormatter("%(levelname)s %(name)s %(process)d %(message)s", timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
                             json_ensure_ascii=False)
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(env: Mapping[str, str]) -> None:
    """Install one stderr handler on the root logger (replacing any), at INFO, with the context filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format(env)))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class GunicornLogger(GunicornBaseLogger):
    """Gunicorn's error and access lines through the root handler (one format), each access line with
    the request id the app put on the response."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not logging.getLogger().handlers:  # logging not set up by us: keep gunicorn's own handlers
            return
        for log in (self.error_log, self.access_log):
            for handler in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
                log.removeHandler(handler)
            log.propagate = True

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        """Gunicorn's access-line fields with every query string cut off (the path stays)."""
        atoms = super().atoms(resp, req, environ, request_time)
        raw = environ.get("RAW_URI") or environ.get("PATH_INFO") or ""
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {without_query(raw)} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = ""
        atoms["f"] = without_query(environ.get("HTTP_REFERER", "-"))
        for key in ("{referer}i", "{raw_uri}e", "{request_uri}e", "{http_referer}e"):
            if key in atoms:
                atoms[key] = without_query(str(atoms[key]))
        atoms["{query_string}e"] = ""
        return atoms

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        request_id = next((value for name, value in getattr(resp, "headers", [])
                           if name.lower() == REQUEST_ID_HEADER.lower()), None)
        with log_context(request_id=request_id):
            super().access(resp, req, environ, request_time)


def without_query(url: str) -> str:
    """`/inbox?q=12345678901` -> `/inbox?…`: the reader sees there was a query, never what it was."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    base = url.split("?", 1)[0] if not parts.scheme else f"{parts.scheme}://{parts.netloc}{parts.path}"
    return base + "?…"


# ---------------------------------------------------------------------- the web request's id
def bind_for_request(**values: str | None) -> None:
    """Log context for the rest of this request (undone when the request ends)."""
    g.log_tokens = [*g.get("log_tokens", []), *bind(**values)]


def _bind_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    bind_for_request(request_id=g.request_id)


def _answer_request_id(response: Response) -> Response:
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _unbind_request_id(_exc: BaseException | None) -> None:
    unbind(g.pop("log_tokens", []))


def init_app(app: Flask) -> None:
    """Give each request an id (kept from a proxy's X-Request-ID when sane), log it, and answer it."""
    app.before_request_funcs.setdefault(None, []).insert(0, _bind_request_id)  # before any check can refuse
    app.after_request(_answer_request_id)
    app.teardown_request(_unbind_request_id)
