"""Geometry of the decisions-per-day chart, drawn as inline SVG by the page's template.

Server-side drawing keeps the dashboard working without JavaScript and within the strict CSP
(no inline styles: colours are SVG presentation attributes). The numbers are also in a table
next to the chart, so a screen reader or a text browser loses nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tasks.analytics.figures import DayDecisions

WIDTH, HEIGHT = 700, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 16, 40


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    issued_y: float
    issued_height: float
    refused_y: float
    refused_height: float
    label: str  # ДД.ММ under the bar
    total: int
    title: str  # tooltip and accessible text


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    peak: int


def _nice_step(peak: int) -> int:
    """A round tick step (1, 2, 5 x 10^n) giving at most 5 intervals up to `peak`."""
    if peak <= 5:
        return 1
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def decisions_chart(days: list[DayDecisions]) -> Chart:
    """Stacked bars (issued below, refused on top) with a y axis rounded up to a whole tick."""
    step = _nice_step(max((d.total for d in days), default=0))
    top_value = max(step, math.ceil(max((d.total for d in days), default=0) / step) * step)
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(days), 1)
    bar_w = slot * 0.7
    baseline = TOP + plot_h

    def height(value: int) -> float:
        return plot_h * value / top_value

    bars = []
    for i, d in enumerate(days):
        issued_h, refused_h = height(d.issued), height(d.refused)
        bars.append(Bar(
            x=round(LEFT + i * slot + (slot - bar_w) / 2, 1), width=round(bar_w, 1),
            issued_y=round(baseline - issued_h, 1), issued_height=round(issued_h, 1),
            refused_y=round(baseline - issued_h - refused_h, 1), refused_height=round(refused_h, 1),
            label=d.day.strftime("%d.%m"), total=d.total,
            title=f"{d.day:%d.%m.%Y}: выдано {d.issued}, отказано или закрыто {d.refused}",
        ))
    ticks = [Tick(round(baseline - height(v), 1), v) for v in range(0, top_value + 1, step)]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, ticks, top_value)
