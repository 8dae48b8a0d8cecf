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
    """One reason a set of diagrams may not be deployed.

    ``code`` is stable English snake_case for programs; ``message`` is Russian, for the person who
    fixes the diagram; ``element_name`` is the element's name in the diagram, if it has one.
    """

    file: str
    element_id: str | None
    message: str
    code: str = "invalid"
    element_name: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.element_id:
            where += f": {self.element_id}" + (f" («{self.element_name}»)" if self.element_name else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "element_id": self.element_id, "element_name": self.element_name,
                "code": self.code, "message": self.message}


@dataclass
class DeploymentError(EngineError):
    problems: list[DeploymentProblem] = field(default_factory=list)
    code = "deployment_refused"

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)
