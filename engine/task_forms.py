"""Validation of submitted task data against the task's JSON Schema.

The schema travels with the deployed version (ProcessVersion.forms), so a running instance keeps
validating against the form it was started with. Custom formats (Russian identifiers) come in
through the FormatChecker the application passes to the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from .errors import DataValidationError, FieldError


def _field_path(error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and error.message.startswith("'"):
        path.append(error.message.split("'")[1])
    return ".".join(path) or "$"


# (schema, submitted data, the task's process data): a form filled in the middle of a case may be checked
# against what the case already holds, e.g. a decision that needs facts the process recorded earlier.
FormValidator = Callable[[dict, dict[str, Any], Mapping[str, Any]], list[FieldError]]


def validate_task_data(schema: dict | None, data: dict[str, Any], format_checker: FormatChecker | None = None,
                       validator: FormValidator | None = None, context: Mapping[str, Any] | None = None) -> None:
    """Raise DataValidationError listing every field problem; a task without a schema accepts any object."""
    if not isinstance(data, dict):
        raise DataValidationError("task data must be a JSON object")
    if not schema:
        return
    if validator is not None:
        problems = validator(schema, data, context or {})
        if problems:
            raise DataValidationError("submitted data does not match the task form", problems)
        return
    validator = Draft202012Validator(schema, format_checker=format_checker or FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = [FieldError(_field_path(e), str(e.validator), e.message) for e in errors]
        raise DataValidationError("submitted data does not match the task form", fields)
