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
import pytest

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
        proc = subprocess.Popen([sys.executable, "-m", "backoffice.cli", "run", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        health = wait_for(lambda: (h := _health(port)) and all(v == "ok" for v in h.values()) and h,
                          timeout=120, message="all parts healthy")
        assert set(health) == {"db", "redis", "registry", "workers", "scheduler"}
        assert (tmp_path / "var" / "backoffice.sqlite3").exists()
        children = _children(proc.pid)
        assert len(children) == 5  # registry, web, scheduler, the worker pool, and the embedded Redis it started
        [pool] = [pid for pid in children if b"--processes" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(_children(pool)) == 2  # the pool's two workers
        children += _children(pool)
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


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _gone(pid: int) -> bool:
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _still_running(pids: list[int]) -> list[str]:
    """The command lines of the processes in `pids` that have not ended (for the failure message)."""
    return [f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes().replace(bytes(1), b' ').decode(errors='replace')}"
            for pid in pids if not _gone(pid)]


def _hold_port(port: int) -> socket.socket | None:
    """Listen on `port` as "another program" would, or None when another program already does."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", port))
    except OSError:
        holder.close()
        return None
    holder.listen(16)
    holder.settimeout(0)
    return holder


def test_run_refuses_a_taken_web_port(tmp_path):
    port = _free_port()
    holder = _hold_port(port)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"BACKOFFICE_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)})
    try:
        done = subprocess.run([sys.executable, "-m", "backoffice.cli", "run", "--port", str(port)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert not (tmp_path / "var" / "backoffice.sqlite3").exists()  # refused before anything started


def test_run_killed_leaves_nothing_and_never_used_a_foreign_registry(tmp_path):
    """The registry's port is taken by "another program" (a listener that never answers): the registry moves to
    a free port its own children use, so every part is healthy. Then `run` is killed with SIGKILL, as the
    OOM killer would: every process it started ends with it, the embedded Redis included."""
    usual = _free_port()  # the registry's usual port (8010 unless REGISTRY_PORT): another program has it
    foreign = _hold_port(usual)
    assert foreign is not None
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "REGISTRY_URL")}
    env.update({"BACKOFFICE_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT), "REGISTRY_PORT": str(usual)})
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "backoffice.cli", "run", "--port", str(port), "--workers", "1"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (h := _health(port)) and all(v == "ok" for v in h.values()), timeout=120,
                 message="all parts healthy with the registry moved")
        assert f"port {usual} is taken by another program" in log.read_text(encoding="utf-8")
        with pytest.raises(BlockingIOError):  # nobody of this run ever connected to the foreign port
            foreign.accept()
        started = _descendants(proc.pid)
        assert len(started) >= 7  # registry, web (+ its gunicorn worker), scheduler, the pool and its worker, Redis
        proc.kill()
        proc.wait(timeout=10)
        # A busy worker ends after its job (RQ's warm shutdown on the SIGTERM its dead parent sends): on a loaded
        # machine that job may itself wait out a registry that died with the run.
        try:
            wait_for(lambda: all(_gone(pid) for pid in started), timeout=150,
                     message="every process of the killed run to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still running: {_still_running(started)}") from None
    finally:
        foreign.close()
        if proc.poll() is None:
            proc.kill()
        for pid in _descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
