"""The script environment diagrams run in, and the names they may use.

SpiffWorkflow evaluates scripts with plain eval/exec. We give them a reduced `__builtins__`
(defence in depth) and a fixed set of functions; deployment statically refuses anything else
(see script_safety). The same name list feeds both, so they cannot drift apart.

SpiffWorkflow hands eval/exec the source text, so every gateway condition, script and decision-table
cell was parsed and compiled again at each evaluation, and a decision table's cells parsed once more
to be validated: a case's pass through the certificate decision evaluates about a hundred cells (and
the step record evaluates them again, engine/steps.py). The environment here runs the same code
compiled once per text and process (same file name, `<string>`, so SpiffWorkflow's error line numbers
stay right); the names, globals and semantics are SpiffWorkflow's own.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType
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


@lru_cache(maxsize=8192)
def compiled(source: str, mode: str) -> CodeType:
    """`source` compiled as eval/exec compile it (mode "eval" or "exec"), once per text; a SyntaxError
    propagates uncached, as it would from eval. No __future__ flags of this module are inherited."""
    return compile(source, "<string>", mode, dont_inherit=True)


@lru_cache(maxsize=8192)
def _syntax_error(expression: str) -> SyntaxError | None:
    try:
        ast.parse(expression)
    except SyntaxError as exc:
        return exc
    return None


def validate(expression: str) -> None:
    """SpiffWorkflow's validation (ast.parse) once per text: raises a SyntaxError like the parse does,
    also for a text seen before (the decision engine tries «< 5» as it stands, then as «v < 5»)."""
    error = _syntax_error(expression)
    if error is not None:
        raise SyntaxError(*error.args)


class CompiledTaskDataEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's TaskDataEnvironment on code compiled once per text (`compiled`)."""

    def evaluate(self, expression: Any, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        if not isinstance(expression, str):
            return super().evaluate(expression, context, external_context)
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        return eval(compiled(expression, "eval"), my_globals)  # noqa: S307 - as SpiffWorkflow's own eval

    def execute(self, script: Any, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        if not isinstance(script, str):
            return super().execute(script, context, external_context)
        self.check_for_overwrite(context, external_context or {})
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        context.update(my_globals)
        try:
            exec(compiled(script, "exec"), context)  # noqa: S102 - as SpiffWorkflow's own exec
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class CompiledScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine whose expression validation is cached too."""

    def validate(self, expression: str) -> None:
        validate(expression)


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
        return CompiledScriptEngine(environment=CompiledTaskDataEnvironment(env_globals))
