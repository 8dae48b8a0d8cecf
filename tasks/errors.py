"""A refusal the domain words itself: the status, a stable code and the Russian message the caller sees.

The engine's errors (engine.errors) carry English codes and leave the wording to the edge; a domain
rule that knows exactly what to tell a person (the studio's drafts: «Черновик уже одобрен...») raises
this with the message already in Russian. web/api_errors.py answers it as the API's one error shape
(or an error page) unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import FieldError


class ApiError(Exception):
    """Raise to answer with the API's error body and `status` (an HTTP status code)."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields or [])
        self.headers = headers or {}
