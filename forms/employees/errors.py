"""The one exception that refuses a whole employee file.

A refused file stores nothing. `code` is stable (the API's error code), `message` is the Russian
text shown to people, `status` is the HTTP status the API answers with, and `details` names what
is missing (the fields of `missing_columns`) so a page can point at them.
"""

from __future__ import annotations

_STATUS = {"too_large": 413, "invalid_format": 415}


class EmployeeFileError(Exception):
    """The whole file is refused; nothing is stored."""

    def __init__(self, code: str, message: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUS.get(code, 422)
        self.details = details

    def __reduce__(self):  # picklable (RQ jobs and multiprocessing carry exceptions by pickle)
        return (EmployeeFileError, (self.code, self.message, self.details))

    def __repr__(self) -> str:
        return f"EmployeeFileError({self.code!r}, {self.message!r})"
