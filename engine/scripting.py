"""The script environment diagrams run in, and the names they may use.

SpiffWorkflow evaluates scripts with plain eval/exec. We give them a reduced `__builtins__`
(defence in depth) and a fixed set of functions; deployment statically refuses anything else
(see script_safety). The same name list feeds both, so they cannot drift apart.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .clock import utcnow
from .script_safety import SAFE_BUILTINS
from .unit_of_work import current

STATUS_CODE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def set_status(code: str) -> None:
    """Let a diagram set the business status of its case (kept in an indexed column)."""
    if not isinstance(code, str) or not STATUS_CODE.match(code):
        raise ValueError(f"invalid status code {code!r}")
    current().statuses.append(code)


def journal(event: str, message: str = "", **details: Any) -> None:
    """Let a diagram add a business event to the case journal."""
    current().notes.append((str(event), str(message), details))


def _now_iso() -> str:
    return utcnow().isoformat()


BASE_FUNCTIONS: dict[str, Any] = {
    "set_status": set_status,
    "journal": journal,
    "now": _now_iso,
    "date": date,
    "datetime": datetime,
    "timedelta": timedelta,
    "Decimal": Decimal,
}


class ScriptEnvironment:
    """Names available to scripts: safe builtins, base functions and what the app adds."""

    def __init__(self, extra_functions: dict[str, Callable[..., Any]] | None = None) -> None:
        self.functions: dict[str, Any] = {**BASE_FUNCTIONS, **(extra_functions or {})}

    @property
    def allowed_names(self) -> frozenset[str]:
        return frozenset(self.functions) | SAFE_BUILTINS

    def script_engine(self) -> PythonScriptEngine:
        safe_builtins = {name: getattr(builtins, name) for name in SAFE_BUILTINS if hasattr(builtins, name)}
        env_globals = {"__builtins__": safe_builtins, **self.functions}
        return PythonScriptEngine(environment=TaskDataEnvironment(env_globals))
