"""Garbage-collector settings for the long-running processes (web, workers, scheduler).

Measured with benchmarks/engine.py: a step of the engine allocates tens of thousands of short-lived
objects (workflow restore, SQL rows) and creates few reference cycles. CPython's defaults run a
young-generation collection every 700 allocations and rescan everything the process has loaded
(SpiffWorkflow, WeasyPrint and its fonts, the specs) in every full collection; together that was
about a tenth of a worker's CPU.
"""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Call once the process has loaded what it keeps for its whole life."""
    gc.collect()
    gc.freeze()  # the loaded code and caches move to a generation the collector never scans
    gc.set_threshold(20_000, 20, 20)
