"""Exceptions the runtime raises to its callers.

Callers (web API, CLI, workers) map these to user-facing answers, so every one carries a stable
`code` and a human-readable English message; translation to Russian happens at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class EngineError(Exception):
    """Base class: something the caller asked for cannot be done."""

    code = "engine_error"


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The object changed under the caller (claimed or completed by someone else)."""

    code = "conflict"


class UndeliverableMessage(EngineError):
    """No instance waits for the message: reported instead of being dropped silently."""

    code = "undeliverable_message"


@dataclass
class FieldError:
    field: str
    code: str
    message: str


class DataValidationError(EngineError):
    """Submitted data does not satisfy the task's JSON Schema."""

    code = "validation_failed"

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


@dataclass
class DeploymentProblem:
    file: str
    element_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.element_id}]" if self.element_id else "")
        return f"{where}: {self.message}"


@dataclass
class DeploymentError(EngineError):
    problems: list[DeploymentProblem] = field(default_factory=list)
    code = "deployment_refused"

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)
