"""What the public verification of a register may show: the organisation and the employee counts.

An organisation's register is a `certificate` row of kind "register" (tasks/cases/registers.py
issues it), verified by the same number-and-code check as a person's certificate. Kept apart from
registers.py so that the web process, which only verifies, does not load the PDF and XLSX writers.
"""

from __future__ import annotations

from typing import Any

from .models.cases import Certificate

KIND = "register"


def is_register(row: Certificate | None) -> bool:
    return row is not None and row.kind == KIND


def register_summary(register: Certificate) -> dict[str, Any]:
    """The organisation (name, ИНН) and the counts, never an employee: the page answers anyone with the code."""
    data = register.data or {}
    org = data.get("organization") or {}
    return {"organization": {"name": org.get("name") or register.holder_masked, "inn": org.get("inn")},
            "employees": dict(data.get("counts") or {})}
