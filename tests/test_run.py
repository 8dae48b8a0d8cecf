"""`backoffice run` brings every part up on the embedded defaults, logs what it does, and Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx

from tests.support.backend import wait_for
from tests.support.product import this_year_period
from tests.support.registry import demo_person

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _api(port: int, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    r = httpx.request(method, f"http://127.0.0.1:{port}/api/v1{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}"} if token else None)
    assert r.status_code < 300, r.text
    return r.json()


def _issue_a_certificate(port: int, data_dir: Path) -> None:
    """The demo citizen applies and waits for the certificate: the worker renders a PDF with WeasyPrint."""
    password = next(line.split()[2] for line in (data_dir / "demo-accounts.txt").read_text().splitlines()
                    if line.startswith("citizen "))
    token = _api(port, "POST", "/auth/token", {"email": "citizen@demo.local", "password": password})["token"]
    body = {"applicant": "individual", **demo_person("valid"), "period": this_year_period()}
    number = _api(port, "POST", "/applications", body, token)["number"]
    wait_for(lambda: _api(port, "GET", f"/applications/{number}", token=token)["status"] == "ready",
             timeout=120, message=f"certificate of {number}")


def test_run_serves_everything_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "LOG_FORMAT")}
    env.update({"BACKOFFICE_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)})
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "run", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        health = wait_for(lambda: (h := _health(port)) and all(v == "ok" for v in h.values()) and h,
                          timeout=120, message="all parts healthy")
        assert set(health) == {"db", "redis", "registry", "workers", "scheduler"}
        assert (tmp_path / "var" / "backoffice.sqlite3").exists()
        children = _children(proc.pid)
        assert len(children) == 5  # registry, web, scheduler, two workers
        _issue_a_certificate(port, tmp_path / "var")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        output = log.read_text(encoding="utf-8")
        # Its own lines survive the migrations (Alembic's logging config used to silence them)...
        for line in ("backoffice.run: certificate_individual v1 deployed", "backoffice.run: demo accounts created",
                     "backoffice.run: started web (pid ", f"serving on http://127.0.0.1:{port}",
                     "backoffice.run: all parts stopped"):
            assert line in output, f"{line!r} missing from the output of backoffice run"
        # ...and libraries' step-by-step INFO lines stay out (WeasyPrint writes dozens per certificate).
        for chatter in ("weasyprint.progress", "fontTools", "alembic.runtime.plugins"):
            assert chatter not in output
    finally:
        if proc.poll() is None:
            proc.kill()
        from engine.embedded_redis import stop_embedded_redis

        stop_embedded_redis(tmp_path / "var")
