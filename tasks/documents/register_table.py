"""The register's long table: a ReportLab flowable that repeats its header row on every page.

Built for 10,000 rows: every cell is wrapped once, up front, into lines (greedy, at spaces; a word
wider than its column is cut), which gives each row's height; a page break then is a binary search
over the running heights, and splitting the table is O(1) - both parts share the wrapped rows and
keep only their first and last index. (ReportLab's own Table copies the remaining rows at every
page break and measures each cell's text again: quadratic on a 400-page table.)

Rows are drawn with one text object per page and a thin rule under each row - no cell frames.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from .register_frame import BLACK, BOLD, GREY, REGULAR

FONT_SIZE = 8.5
LEADING = 10.2
PAD_X, PAD_TOP, PAD_BOTTOM = 3.0, 2.0, 3.0
RULE, HEADER_RULE = 0.3, 0.6
# A row must fit on a page or the layout fails. Employee lists cap names at 60 and positions at 200
# characters (forms/employees), a few lines each; a cell of more than this many lines (only from
# data that bypassed those checks) is cut with «…» rather than failing the whole register.
MAX_CELL_LINES = 30


@dataclass(frozen=True)
class Cell:
    lines: tuple[str, ...]
    bold: bool = False


def wrap_text(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """`text` broken into lines no wider than `width` points: at spaces, or inside a word too long for a line."""
    text = " ".join(text.split())
    if stringWidth(text, font, size) <= width:
        return (text,)
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if stringWidth(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while stringWidth(word, font, size) > width:
            cut = _longest_prefix(word, font, size, width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    if len(lines) > MAX_CELL_LINES:
        lines = [*lines[:MAX_CELL_LINES - 1], lines[MAX_CELL_LINES - 1][:-1] + "…"]
    return tuple(lines)


def _longest_prefix(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of `word` fit in `width` (at least one); after a hyphen when one fits."""
    fit = 1
    while fit < len(word) and stringWidth(word[:fit + 1], font, size) <= width:
        fit += 1
    hyphen = word.rfind("-", 0, fit)
    return hyphen + 1 if hyphen > 0 else fit


@dataclass(frozen=True)
class TableLayout:
    """Column widths, the wrapped header and rows, and each row's top offset (shared by every page's part)."""

    widths: tuple[float, ...]
    header: tuple[Cell, ...]
    header_height: float
    rows: tuple[tuple[Cell, ...], ...]
    tops: tuple[float, ...]  # tops[i]: the height of rows[:i]; len(rows) + 1 entries


def layout_table(widths: Sequence[float], header: Sequence[str],
                 rows: Sequence[Sequence[tuple[str, bool]]]) -> TableLayout:
    """Wrap the header and every cell (text, bold) to its column; rows' heights from their tallest cell."""
    inner = [w - 2 * PAD_X for w in widths]
    head = tuple(Cell(wrap_text(text, BOLD, FONT_SIZE, w), bold=True) for text, w in zip(header, inner, strict=True))
    wrapped = tuple(
        tuple(Cell(wrap_text(text, BOLD if bold else REGULAR, FONT_SIZE, w), bold) for (text, bold), w in
              zip(row, inner, strict=True))
        for row in rows
    )
    heights = (_row_height(row) for row in wrapped)
    return TableLayout(widths=tuple(widths), header=head, header_height=_row_height(head), rows=wrapped,
                       tops=tuple(accumulate(heights, initial=0.0)))


def _row_height(cells: Sequence[Cell]) -> float:
    return max(len(cell.lines) for cell in cells) * LEADING + PAD_TOP + PAD_BOTTOM


class RegisterTable(Flowable):
    """Rows `start`..`end` of a laid-out table, under the header row."""

    def __init__(self, layout: TableLayout, start: int = 0, end: int | None = None) -> None:
        super().__init__()
        self.layout = layout
        self.start = start
        self.end = len(layout.rows) if end is None else end
        self.width = sum(layout.widths)
        self.height = self._height(self.start, self.end)

    def _height(self, start: int, end: int) -> float:
        tops = self.layout.tops
        return self.layout.header_height + tops[end] - tops[start]

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        """The rows that fit under the header in `available_height`, and the rest; [] when not even one fits."""
        tops = self.layout.tops
        room = available_height - self.layout.header_height
        last = min(bisect_right(tops, tops[self.start] + room) - 1, self.end)
        if last <= self.start:
            return []
        return [RegisterTable(self.layout, self.start, last), RegisterTable(self.layout, last, self.end)]

    def draw(self) -> None:
        canvas = self.canv
        y = self.height
        y = self._draw_row(canvas, self.layout.header, y, self.layout.header_height, HEADER_RULE, top_rule=True)
        tops = self.layout.tops
        for index in range(self.start, self.end):
            y = self._draw_row(canvas, self.layout.rows[index], y, tops[index + 1] - tops[index], RULE)

    def _draw_row(self, canvas: Any, cells: Sequence[Cell], y: float, height: float, rule: float, *,
                  top_rule: bool = False) -> float:
        """Draw one row whose top is at `y`; returns the next row's top."""
        text = canvas.beginText()
        x = 0.0
        for cell, width in zip(cells, self.layout.widths, strict=True):
            text.setFont(BOLD if cell.bold else REGULAR, FONT_SIZE, LEADING)
            text.setTextOrigin(x + PAD_X, y - PAD_TOP - FONT_SIZE)
            for line in cell.lines:
                text.textLine(line)
            x += width
        canvas.drawText(text)
        canvas.setLineWidth(rule)
        canvas.setStrokeColor(GREY if rule == RULE else BLACK)
        bottom = y - height
        canvas.line(0, bottom, self.width, bottom)
        if top_rule:
            canvas.line(0, y, self.width, y)
        return bottom
