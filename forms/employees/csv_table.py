"""CSV -> Table: UTF-8 (with or without BOM) or Windows-1251; comma, semicolon or tab.

The encoding is decided strictly, not guessed: UTF-8 when the bytes decode as UTF-8, otherwise
Windows-1251 (what Russian Excel writes with «CSV (разделители — запятые)»). The delimiter is the
one that occurs most often in the header line, outside quotes, unless a first line «sep=;» (which
Excel writes and understands) declares it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from .errors import EmployeeFileError
from .table import Table, collect

_DELIMITERS = (";", ",", "\t")
_SEP_LINE = re.compile(r"^sep=([;,\t])[ ]*\r?\n")


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM dropped) or Windows-1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise EmployeeFileError(
            "invalid_format", "Не удалось прочитать CSV: сохраните файл в кодировке UTF-8 или Windows-1251") from exc


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(" \t;,"):
            return line
    return ""


def pick_delimiter(text: str) -> str:
    """The delimiter used most often in the header line, outside quoted text."""
    line = _first_line(text)
    unquoted = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _numbered(reader: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for number, record in enumerate(reader, start=1):
        yield number, [value.strip() for value in record]


def read_csv_table(data: bytes) -> Table:
    text = decode(data)
    declared = _SEP_LINE.match(text)  # Excel's «sep=;» first line: Excel hides it, so we skip it too
    delimiter = declared[1] if declared else pick_delimiter(text)
    if declared:
        text = text[declared.end():]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return collect(Table(kind="csv"), _numbered(reader))
    except csv.Error as exc:
        raise EmployeeFileError(
            "broken_file", f"Не удалось прочитать CSV в строке {reader.line_num}: проверьте кавычки") from exc

