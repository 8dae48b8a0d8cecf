"""How many times an instance was advanced, and how many of those restored its workflow from the state.

Kept in the instance's projection (written by every save anyway, so counting costs nothing): the
figures tests and benchmarks check to see that an instance is restored, stepped and saved once per
event that reaches it, not once per service result.
"""

from __future__ import annotations

from typing import Any

KEY = "advances"  # projection key: {"saves": n, "restores": m}


def counted(projection: dict[str, Any] | None, restored: bool) -> dict[str, int]:
    """The counts after one more save (`restored`: the transaction restored the workflow first)."""
    old = (projection or {}).get(KEY) or {}
    return {"saves": int(old.get("saves", 0)) + 1, "restores": int(old.get("restores", 0)) + int(restored)}


def of(projection: dict[str, Any] | None) -> dict[str, int]:
    """The counts an instance's projection holds (zero for one saved before they were kept)."""
    old = (projection or {}).get(KEY) or {}
    return {"saves": int(old.get("saves", 0)), "restores": int(old.get("restores", 0))}
