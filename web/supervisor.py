"""`backoffice run`: all parts of the system as child processes, supervised together.

Each part is the same `backoffice <part>` command docker-compose runs, so the all-in-one mode
exercises exactly the production entry points. A child that dies is restarted with a growing
delay; Ctrl-C (SIGINT) or SIGTERM stops every child and waits for it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from engine.settings import Settings
from tasks.config import DEFAULT_REGISTRY_PORT, AppConfig

log = logging.getLogger("backoffice.run")


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "web.cli", *self.args])  # noqa: S603
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.proc.pid)


def prepare(settings: Settings) -> None:
    """Migrate, deploy workflows/ and start the embedded Redis before any child needs them."""
    from engine.context import redis_url

    from .cli import deploy_workflows, upgrade_database

    upgrade_database(settings)
    for r in deploy_workflows([], "backoffice run", settings):
        log.info("%s v%s %s", r.process_id, r.version, "deployed" if r.created else "unchanged")
    _seed_on_first_start(settings)
    redis_url(settings)


def _seed_on_first_start(settings: Settings) -> None:
    """Demo accounts only on the very first start (a marker file), never again once someone removed them."""
    from .demo_seed import accounts_file, seed_demo

    marker = settings.data_dir / ".demo-seeded"
    if marker.exists():
        return
    created = seed_demo(settings)
    marker.touch()
    if created:
        log.info("demo accounts created; their passwords are in %s", accounts_file(settings))


def run_all(host: str, port: int, workers: int) -> int:
    settings = Settings.from_env()
    prepare(settings)
    children = [Child("web", ["web", "--host", host, "--port", str(port)]), Child("scheduler", ["scheduler"])]
    if not os.environ.get("REGISTRY_URL"):  # bundled registry, where AppConfig's default REGISTRY_URL points
        from .registry import load_dataset

        load_dataset(AppConfig.from_env(settings=settings).registry_data)  # a wrong dataset stops us here
        children.insert(0, Child("registry", ["registry", "--port", str(DEFAULT_REGISTRY_PORT)]))
    children += [Child(f"worker-{i + 1}", ["worker", "--name", f"run-worker-{i + 1}-{int(time.time())}"])
                 for i in range(workers)]
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for child in children:
        child.start()
    log.info("serving on http://%s:%s", host, port)
    while not stop.wait(0.5):
        for child in children:
            if child.proc is not None and child.proc.poll() is not None:
                delay = min(30.0, 2.0 ** min(child.restarts, 5))
                log.warning("%s exited with %s; restarting in %.0f s", child.name, child.proc.returncode, delay)
                if stop.wait(delay):
                    break
                child.restarts += 1
                child.start()
    _stop_all(children)
    return 0


def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.proc and child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", child.name)
            child.proc.kill()
            child.proc.wait()
    log.info("all parts stopped")
