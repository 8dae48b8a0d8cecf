"""Operators for the benchmark diagrams (loaded by workers via BACKOFFICE_OPERATOR_MODULES).

`bench.noop` does nothing so that a benchmark measures the engine (lock, load, step, save, enqueue)
rather than an operator; BENCH_OPERATOR_LATENCY_MS adds a sleep to model a remote call when one
wants to see how the engine behaves with slow operators. `rq_noop` is the job of the raw RQ floor:
the cheapest job RQ can run, against which the engine's jobs are compared.
"""

from __future__ import annotations

import os
import time
from typing import Any

from engine.operators import operator

_LATENCY_S = float(os.environ.get("BENCH_OPERATOR_LATENCY_MS") or 0) / 1000.0


@operator("bench.noop", timeout=10)
def noop(**params: Any) -> dict[str, bool]:
    """Return at once (or after BENCH_OPERATOR_LATENCY_MS) so only the engine's cost is measured."""
    if _LATENCY_S > 0:
        time.sleep(_LATENCY_S)
    return {"ok": True}


def rq_noop() -> None:
    """A job that does nothing: what RQ alone costs per job (dequeue, run, finish bookkeeping)."""
    return None
