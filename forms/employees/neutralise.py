"""Neutralising spreadsheet formulas in everything we export (CSV/formula injection).

A text cell that starts with = + - @ (or a tab / carriage return, which some programs skip before
reading a formula) is run as a formula when a spreadsheet opens the file, and openpyxl itself
writes such a string as a formula. A leading apostrophe makes it plain text everywhere.
"""

from __future__ import annotations

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Strings that a spreadsheet would read as a formula get a leading «'»; other values pass."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
