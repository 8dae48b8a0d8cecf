"""Fault injection for drills and tests: make a registry slow, flaky or down.

The spec language is the same in `REGISTRY_FAULTS` and in the admin endpoint::

    erzl:latency_ms=1500,error_rate=0.3;egrul:down

Entries are separated by ";", each is `<registry>:<option>[,<option>...]`; options are `down`,
`latency_ms=<int >= 0>` and `error_rate=<0..1>`. The registry `*` means all of them; entries for
the same registry merge, so `*:latency_ms=200;erzl:down` slows everything and takes ЕРЗЛ down.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace

REGISTRIES = ("mvd", "sfr", "erzl", "egrul", "mo", "clinic")


class FaultSpecError(ValueError):
    """The spec cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class Fault:
    down: bool = False
    latency_ms: int = 0
    error_rate: float = 0.0

    @property
    def active(self) -> bool:
        return self.down or self.latency_ms > 0 or self.error_rate > 0

    def describe(self) -> str:
        """The spec options of this fault, e.g. `latency_ms=1500,error_rate=0.3`."""
        parts = ["down"] if self.down else []
        if self.latency_ms:
            parts.append(f"latency_ms={self.latency_ms}")
        if self.error_rate:
            parts.append(f"error_rate={self.error_rate:g}")
        return ",".join(parts)


def parse_faults(spec: str | None) -> dict[str, Fault]:
    """Parse a spec into the faults of the registries it names (healthy ones are left out)."""
    faults: dict[str, Fault] = {}
    for entry in (spec or "").split(";"):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, options = entry.partition(":")
        name = name.strip().lower()
        if not sep or not options.strip():
            raise FaultSpecError(f"{entry!r}: expected <registry>:<option>[,<option>...]")
        if name != "*" and name not in REGISTRIES:
            raise FaultSpecError(f"{entry!r}: unknown registry {name!r} (known: {', '.join(REGISTRIES)}, *)")
        for registry in REGISTRIES if name == "*" else (name,):
            faults[registry] = _apply_options(faults.get(registry, Fault()), options, entry)
    return {name: fault for name, fault in faults.items() if fault.active}


def _apply_options(fault: Fault, options: str, entry: str) -> Fault:
    for option in options.split(","):
        key, _, value = (part.strip() for part in option.partition("="))
        key = key.lower()
        try:
            if key == "down" and not value:
                fault = replace(fault, down=True)
            elif key == "latency_ms":
                fault = replace(fault, latency_ms=_bounded(int(value), 0, 600_000))
            elif key == "error_rate":
                fault = replace(fault, error_rate=_bounded(float(value), 0.0, 1.0))
            else:
                raise FaultSpecError(f"{entry!r}: unknown option {option.strip()!r} "
                                     "(known: down, latency_ms=<ms>, error_rate=<0..1>)")
        except ValueError as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"{entry!r}: bad value in {option.strip()!r}: {exc}") from None
    return fault


def _bounded(value: float, low: float, high: float):
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    return value


def format_faults(faults: dict[str, Fault]) -> str:
    """The spec that `parse_faults` turns back into `faults`."""
    return ";".join(f"{name}:{faults[name].describe()}" for name in REGISTRIES
                    if name in faults and faults[name].active)


class FaultBoard:
    """The faults in force, changed at runtime by the admin endpoint and read by every request thread."""

    def __init__(self, faults: dict[str, Fault] | None = None, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = dict(faults or {})
        self._rng = rng or random.Random()

    def get(self, registry: str) -> Fault:
        with self._lock:
            return self._faults.get(registry, Fault())

    def snapshot(self) -> dict[str, Fault]:
        with self._lock:
            return dict(self._faults)

    def replace(self, faults: dict[str, Fault]) -> None:
        with self._lock:
            self._faults = dict(faults)

    def roll_error(self, fault: Fault) -> bool:
        """Whether this request fails under the fault's error rate."""
        if fault.error_rate <= 0:
            return False
        with self._lock:  # random.Random is not documented as thread-safe
            return self._rng.random() < fault.error_rate
