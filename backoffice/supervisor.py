"""`backoffice run`: all parts of the system as child processes, supervised together.

Each part is the same `backoffice <part>` command docker-compose runs, so the all-in-one mode
exercises exactly the production entry points; the workers are one pool (`worker --processes N`). A
child that dies is restarted with a growing delay; Ctrl-C (SIGINT) or SIGTERM stops every child and
waits for it.

What `run` starts ends with it, however it ends: each child (and the embedded Redis, started attached
rather than as a daemon) gets SIGTERM from the kernel when `run` dies, SIGKILL and OOM included
(engine.lifetime). Ports are checked before anything starts: a taken web port stops `run` with a clear
message, and when the bundled registry's usual port is taken the registry gets a free one, which its
own children are told (REGISTRY_URL): they never talk to whatever else answers on 8010.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.lifetime import die_with_parent
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
        self.proc = subprocess.Popen([sys.executable, "-m", "backoffice.cli", *self.args],  # noqa: S603
                                     preexec_fn=die_with_parent(signal.SIGTERM))
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.proc.pid)


class PortTaken(Exception):
    """A port `run` must serve on is in use by another program."""


def port_free(host: str, port: int) -> bool:
    """Whether `port` on `host` can be listened on now (SO_REUSEADDR, as the servers bind)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def registry_port() -> int:
    """The bundled registry's port: its usual one (REGISTRY_PORT, default 8010) when free, else one the
    system picks."""
    usual = int(os.environ.get("REGISTRY_PORT") or DEFAULT_REGISTRY_PORT)
    if port_free("127.0.0.1", usual):
        return usual
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log.warning("port %s is taken by another program; the bundled registry serves on port %s instead", usual, port)
    return port


def prepare(config: AppConfig) -> bool:
    """Migrate, deploy workflows/ and start the embedded Redis before any child needs them.

    The embedded Redis is started attached: it ends with this process. One already running for the data
    folder (started by a part run on its own) is reused as it is. Returns whether this process started it.
    """
    from engine.embedded_redis import start_embedded_redis

    from .provision import deploy_workflows, upgrade_database

    settings = config.settings
    owns_redis = settings.redis_url is None and _is_my_child(start_embedded_redis(settings.data_dir,
                                                                                  attached=True).pid)
    upgrade_database(config)
    for r in deploy_workflows([], "backoffice run", settings):
        log.info("%s v%s %s", r.process_id, r.version, "deployed" if r.created else "unchanged")
    _seed_on_first_start(config)
    return owns_redis


def _is_my_child(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rpartition(")")[2].split()[1]) == os.getpid()


def _seed_on_first_start(config: AppConfig) -> None:
    """Demo accounts only on the very first start (a marker file), never again once someone removed them."""
    from .demo_seed import accounts_file, seed_demo

    settings = config.settings
    marker = settings.data_dir / ".demo-seeded"
    if marker.exists():
        return
    created = seed_demo(config)
    marker.touch()
    if created:
        log.info("demo accounts created; their passwords are in %s", accounts_file(settings))


def run_all(host: str, port: int, workers: int) -> int:
    if not port_free(host, port):
        raise PortTaken(f"port {port} on {host} is already in use (another backoffice run, or another service); "
                        "stop it or choose another port with --port")
    from .cli import process_config

    config = process_config()
    bundled_registry = not os.environ.get("REGISTRY_URL")
    if bundled_registry:
        from .registry import load_dataset

        load_dataset(config.registry_data)  # a wrong dataset stops us here
        reg_port = registry_port()
        os.environ["REGISTRY_URL"] = f"http://127.0.0.1:{reg_port}"  # every child talks to this registry only
        config = replace(config, registry_url=os.environ["REGISTRY_URL"])
    owns_redis = prepare(config)
    children = [Child("web", ["web", "--host", host, "--port", str(port)]), Child("scheduler", ["scheduler"])]
    if bundled_registry:
        children.insert(0, Child("registry", ["registry", "--port", str(reg_port)]))
    if workers > 0:  # one pool: a worker that dies is replaced by a fork at once, not by a new interpreter
        children.append(Child("workers", ["worker", "--processes", str(workers),
                                          "--name", f"run-worker-{int(time.time())}"]))
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
    if owns_redis:
        from engine.embedded_redis import stop_embedded_redis

        stop_embedded_redis(config.settings.data_dir)  # saved and stopped: nothing of this run stays behind
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
