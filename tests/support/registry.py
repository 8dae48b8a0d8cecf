"""The registry service as a real subprocess, and applications built from its demo dataset.

`RegistryService` runs `python -m backoffice.cli registry` on a free 127.0.0.1 port, exactly as
`backoffice registry` runs in production-like setups, and drives its fault admin endpoint.
The session fixture `registry_service` is shared: a test that sets faults on it must clear them
(`with registry_service.faults_set("erzl:down"): ...` does), or start its own RegistryService.

`demo_person(scenario)` gives the `person` object (and policy number) an applicant of that
scenario would submit, e.g. `{"applicant": "individual", **demo_person("yo_spelling"), "period": ...}`.
The dataset's test-only fields say how: `applicant_overrides` is what the applicant types
differently from the registries (е for ё, someone else's СНИЛС, a policy number not in ЕРЗЛ).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import forkserver

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_DATA = ROOT / "backoffice" / "registry" / "demo_data.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegistryService:
    def __init__(self, *, data: Path | None = None, faults: str | None = None,
                 admin_token: str | None = None) -> None:
        self.data = data
        self.initial_faults = faults
        self.admin_token = admin_token
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="registry-"))

    @property
    def log_path(self) -> Path:
        return self._workdir / "registry.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update({"PYTHONPATH": str(ROOT), "BACKOFFICE_DATA_DIR": str(self._workdir / "var")})
        for key, value in (("REGISTRY_DATA", self.data), ("REGISTRY_FAULTS", self.initial_faults),
                           ("REGISTRY_ADMIN_TOKEN", self.admin_token)):
            if value:
                env[key] = str(value)
        return env

    def start(self, timeout: float = 30.0, port: int | None = None) -> RegistryService:
        """Start the process and wait until /health answers (a taken port is retried on another one).

        With `port` (a drill's restart after an outage: the product keeps its REGISTRY_URL) only that port.
        """
        for _ in range(1 if port else 3):
            chosen = port or free_port()
            self.url = f"http://127.0.0.1:{chosen}"
            with self.log_path.open("ab") as log:
                self.proc = forkserver.popen(["registry", "--port", str(chosen)], cwd=ROOT, env=self.env(),
                                             stdout=log.fileno(), stderr=log.fileno(), new_session=True)
            if self._wait_healthy(timeout):
                return self
            if "Address already in use" not in self.log():
                break
        self.stop()
        raise RuntimeError(f"registry service did not start:\n{self.log()[-3000:]}")

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self._workdir / "var", ignore_errors=True)

    def _admin(self, method: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        resp = httpx.request(method, f"{self.url}/admin/faults", json=body, headers=headers, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def faults(self) -> dict:
        return self._admin("GET")

    def set_faults(self, spec: str) -> dict:
        """Replace the faults in force, e.g. `erzl:down` or `mvd:latency_ms=1500,error_rate=0.3`."""
        return self._admin("PUT", {"spec": spec})

    def clear_faults(self) -> dict:
        return self._admin("DELETE")

    @contextmanager
    def faults_set(self, spec: str) -> Iterator[RegistryService]:
        self.set_faults(spec)
        try:
            yield self
        finally:
            self.clear_faults()

    def __enter__(self) -> RegistryService:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def registry_service() -> Iterator[RegistryService]:
    """The bundled demo registry, shared by the session; leave no faults behind."""
    service = RegistryService().start()
    try:
        yield service
    finally:
        service.stop()


@cache
def demo_dataset() -> dict[str, Any]:
    return json.loads(DEMO_DATA.read_text(encoding="utf-8"))


def demo_records(scenario: str) -> list[dict[str, Any]]:
    """The dataset's person records of a scenario (see the dataset's `scenarios` for the list)."""
    records = [p for p in demo_dataset()["persons"] if p.get("scenario") == scenario]
    if not records:
        raise KeyError(f"no demo person for scenario {scenario!r}; known: {sorted(demo_dataset()['scenarios'])}")
    return records


def demo_policies(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in demo_dataset()["policies"] if p.get("snils") == record["snils"]]


def demo_person(scenario: str, index: int = 0) -> dict[str, Any]:
    """`{"person": {...}, "policy_number": ЕНП | None}` as the applicant of `scenario` would submit it."""
    record = demo_records(scenario)[index]
    overrides = record.get("applicant_overrides", {})
    passport = record["passport"]
    person = {
        "last_name": record["last_name"], "first_name": record["first_name"],
        **({"middle_name": record["middle_name"]} if record.get("middle_name") else {}),
        "birth_date": record["birth_date"],
        "passport": {k: passport[k] for k in ("series", "number", "issued_on", "issued_by", "division_code")},
        "snils": record["snils"], "inn": record["inn"],
    }
    person.update({k: v for k, v in overrides.items() if k in person})
    policies = sorted(demo_policies(record), key=lambda p: (p["status"] == "active", p["valid_from"]))
    policy_number = overrides.get("policy_number") or (policies[-1]["enp"] if policies else None)
    return {"person": person, "policy_number": policy_number}
