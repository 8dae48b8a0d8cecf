"""Operators used by the test diagrams; the worker processes load them via BACKOFFICE_OPERATOR_MODULES."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from engine.operators import OperatorError, RetryPolicy, operator

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.2, factor=2.0, max_delay=1.0, jitter=0.1)


@operator("demo.lookup", retry=FAST_RETRY, timeout=10)
def lookup(key: str) -> dict:
    marker = os.environ.get("TEST_SLOW_MARKER")
    if marker and key == "slow" and not Path(marker).exists():  # slow only the first time
        Path(marker).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("TEST_SLOW_SECONDS", "30")))
    gate = os.environ.get("TEST_GATE_DIR")
    if gate and key.startswith("gate"):  # say who runs it, then wait until the test opens the gate
        (Path(gate) / f"{key}.started").write_text(f"{os.getpid()} {threading.current_thread().name}")
        deadline = time.monotonic() + 60
        while not (Path(gate) / "open").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return {"found": True, "key": key}


@operator("demo.flaky", retry=FAST_RETRY, on_exhausted="error", error_code="fetch_failed", timeout=10)
def flaky(mode: str) -> dict:
    if mode == "fail":
        raise OperatorError("unavailable", "registry unavailable")
    return {"ok": True}


@operator("demo.noop", timeout=10)
def noop(**params: object) -> dict:
    return {"ok": True}


@operator("demo.always_fails", retry=FAST_RETRY, on_exhausted="incident", timeout=10)
def always_fails(**params: object) -> dict:
    if os.environ.get("TEST_FIXED_MARKER") and Path(os.environ["TEST_FIXED_MARKER"]).exists():
        return {"ok": True}
    raise OperatorError("broken", "always fails")
