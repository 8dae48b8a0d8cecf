"""LOG_FORMAT=json: one JSON object per line, each naming the request, case and job it was written for.

The web server and the worker run as the real `backoffice` processes with their output in a file;
the lines are read back and parsed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from engine.models import ServiceCall
from tests.support.accounts import citizen, unique_email
from tests.support.backend import Backend, Cluster, wait_for
from tests.support.registry import free_port


def json_lines(path: Path) -> list[dict]:
    """Every line of the file as JSON: a line that is not JSON fails the test."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


def test_web_lines_in_json_carry_the_request_id(backend: Backend, cluster: Cluster, tmp_path: Path):
    log, port = tmp_path / "web.log", free_port()
    cluster.spawn_logged(log, "web", "--port", str(port), LOG_FORMAT="json")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, message="the web server")
    request_id = f"test-{uuid.uuid4().hex}"
    email = unique_email("json-log")
    r = httpx.post(f"{base}/api/v1/auth/register", json=citizen(email), headers={"X-Request-ID": request_id},
                   timeout=30)
    assert r.status_code == 201, r.text
    assert r.headers["X-Request-ID"] == request_id
    generated = httpx.get(f"{base}/login", timeout=5).headers["X-Request-ID"]
    assert generated and generated != request_id

    def request_lines() -> list[dict] | None:
        mine = [line for line in json_lines(log) if line.get("request_id") == request_id]
        loggers = {line["logger"] for line in mine}
        return mine if {"tasks.mail", "gunicorn.access"} <= loggers else None

    lines = wait_for(request_lines, timeout=30, message="the request's mail and access lines")
    mail = next(line for line in lines if line["logger"] == "tasks.mail")
    assert email not in mail["message"] and email[0] + "…@example.ru" in mail["message"]  # masked
    assert mail["level"] == "INFO" and mail["time"] and mail["pid"]
    access = next(line for line in lines if line["logger"] == "gunicorn.access")
    assert "POST /api/v1/auth/register" in access["message"]
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["message"] for line in json_lines(log))


def test_worker_lines_in_json_carry_the_job_and_the_case(backend: Backend, cluster: Cluster, tmp_path: Path):
    log = tmp_path / "worker.log"
    cluster.spawn_logged(log, "worker", LOG_FORMAT="json")
    cluster.scheduler()  # wakes the retries
    services = backend.services
    case_number = f"J-{uuid.uuid4().hex[:8]}"
    info = services.runtime.start("incident_demo", {}, business_key=case_number)

    def incident_line() -> dict | None:
        return next((line for line in json_lines(log)
                     if line.get("case_number") == case_number and "is an incident" in line["message"]), None)

    line = wait_for(incident_line, timeout=60, message="the worker's incident line")
    with services.database.session() as s:
        job_id = s.scalar(select(ServiceCall.job_id).where(ServiceCall.instance_id == info.id))
    assert line["job_id"] == job_id and job_id.startswith("svc-")
    assert line["level"] == "WARNING" and line["logger"] == "engine.runtime"
    assert "request_id" not in line
