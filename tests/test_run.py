"""`backoffice run` brings every part up on the embedded defaults and Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.backend import wait_for

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


def test_run_serves_everything_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"BACKOFFICE_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "run", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=env)
    try:
        health = wait_for(lambda: (h := _health(port)) and all(v == "ok" for v in h.values()) and h,
                          timeout=120, message="all parts healthy")
        assert set(health) == {"db", "redis", "registry", "workers", "scheduler"}
        assert (tmp_path / "var" / "backoffice.sqlite3").exists()
        children = _children(proc.pid)
        assert len(children) == 5  # registry, web, scheduler, two workers
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        from engine.embedded_redis import stop_embedded_redis

        stop_embedded_redis(tmp_path / "var")
