"""Named SLA durations for BPMN timers.

Diagrams must not hard-code "24 hours" in a timer: the same diagram runs in production (days), on a
staging stand (minutes) and in tests (seconds). Instead a timer calls ``sla("operator_review")`` and the
value comes from configuration:

1. defaults in ``<workflows_dir>/sla.toml`` next to the diagrams, table ``[sla]`` of ``name = "value"``;
2. overrides in the environment variable ``BACKOFFICE_SLA`` as ``name=value;name=value``.

A value is an ISO 8601 duration of fixed length (``PT30S``, ``PT24H``, ``P30D``, ``P1DT2H``, ``P2W``) or
``<n>BD``: ``n`` business days on the production calendar (see :mod:`engine.calendar`).

Timer expressions return the *absolute* due moment (``timer_value``), used with BPMN ``timeDate``: then
the deadline shown to people and the moment the timer fires are computed by the same code. (SpiffWorkflow
3.2 ``TimeDateEventDefinition`` parses the value with ``TimerEventDefinition.parse_time_or_duration``,
i.e. ``datetime.fromisoformat`` for anything not starting with ``P`` and not containing ``W``; an aware
UTC ``isoformat()`` string satisfies both. ``timeDuration`` cannot express business days at all.)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from engine.calendar import BusinessCalendar, business_days_deadline, ensure_aware
from engine.clock import utcnow

__all__ = [
    "ENV_VAR",
    "SlaDuration",
    "SlaRegistry",
    "UnknownSla",
    "make_script_functions",
    "parse_duration",
]

ENV_VAR = "BACKOFFICE_SLA"

# Our own strict regex instead of SpiffWorkflow's TimerEventDefinition.parse_iso_duration: that parser is
# lenient (it accepts "P" and strips "p" from both ends of the text), raises a bare Exception with no
# detail, and returns years/months that only become a length relative to a start date, which a
# timedelta-based SLA cannot represent. isodate is not installed and is not worth a dependency for this.
_BUSINESS_DAYS_RE = re.compile(r"(?P<n>\d+)\s*BD", re.IGNORECASE | re.ASCII)
_WEEKS_RE = re.compile(r"P(?P<weeks>\d+)W", re.IGNORECASE | re.ASCII)
_DURATION_RE = re.compile(
    r"P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
    re.IGNORECASE | re.ASCII,
)
_CALENDAR_UNITS_RE = re.compile(r"P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T.*)?", re.IGNORECASE | re.ASCII)
_HAS_YEARS_OR_MONTHS_RE = re.compile(r"P[^T]*\d[YM]", re.IGNORECASE | re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

_FORMAT_HELP = (
    "expected an ISO 8601 duration with integer days/hours/minutes/seconds or weeks "
    "(PT30S, PT24H, P30D, P1DT2H, P2W) or business days as <n>BD (1BD, 10BD)"
)


@dataclass(frozen=True)
class SlaDuration:
    """One parsed SLA value: either ``business_days`` (``<n>BD``) or a fixed ``delta``, never both.

    ``text`` keeps the value as configured, for display and for error messages.
    """

    text: str
    business_days: int | None
    delta: timedelta | None

    def __post_init__(self) -> None:
        if (self.business_days is None) == (self.delta is None):
            raise ValueError("SlaDuration needs exactly one of business_days and delta")

    def due(
        self,
        start: datetime,
        *,
        calendar: BusinessCalendar,
        tz: str | None = None,
    ) -> datetime:
        """Return the aware UTC moment this SLA expires when the clock starts at ``start``.

        Fixed durations are elapsed time (``P1D`` is 24 hours, also across a DST change); business days
        keep the local time of day in ``tz`` (see :func:`engine.calendar.business_days_deadline`).
        A naive ``start`` is read as local time in ``tz`` (default: the calendar's time zone).
        """
        tz = tz or calendar.tz
        start = ensure_aware(start, tz)
        if self.business_days is not None:
            return business_days_deadline(self.business_days, start, tz, calendar=calendar)
        assert self.delta is not None  # guaranteed by __post_init__
        return start.astimezone(UTC) + self.delta

    def timer_value(
        self,
        start: datetime,
        *,
        calendar: BusinessCalendar,
        tz: str | None = None,
    ) -> str:
        """Return what a BPMN ``timeDate`` expression should evaluate to: ``due(start)`` in ISO format.

        Both kinds of SLA produce an absolute moment so that the timer and the due date shown to
        people cannot disagree.
        """
        return self.due(start, calendar=calendar, tz=tz).isoformat()


def parse_duration(text: str) -> SlaDuration:
    """Parse an SLA value (``PT24H``, ``P30D``, ``P2W``, ``10BD``...) or raise ``ValueError`` saying why.

    Years and months are rejected on purpose: their length depends on the start date, and a deadline
    rule that needs that is better written as days or business days.
    """
    if not isinstance(text, str):
        raise ValueError(f"SLA duration must be a string, got {type(text).__name__}: {text!r}")
    value = text.strip()
    if not value:
        raise ValueError(f"empty SLA duration; {_FORMAT_HELP}")
    upper = value.upper()

    if upper.endswith("BD"):
        match = _BUSINESS_DAYS_RE.fullmatch(value)
        if match is None:
            raise ValueError(
                f"invalid business-day SLA duration {text!r}: the count must be a non-negative integer "
                f"(e.g. 1BD, 10BD)"
            )
        return SlaDuration(text=upper.replace(" ", ""), business_days=int(match["n"]), delta=None)

    if not upper.startswith("P"):
        raise ValueError(f"invalid SLA duration {text!r}: {_FORMAT_HELP}")

    match = _WEEKS_RE.fullmatch(value)
    if match is not None:
        return SlaDuration(text=upper, business_days=None, delta=timedelta(weeks=int(match["weeks"])))

    match = _DURATION_RE.fullmatch(value)
    if match is None:
        if _CALENDAR_UNITS_RE.fullmatch(value) and _HAS_YEARS_OR_MONTHS_RE.match(value):
            raise ValueError(
                f"invalid SLA duration {text!r}: years and months have no fixed length; "
                "use days (P30D) or business days (<n>BD)"
            )
        raise ValueError(f"invalid SLA duration {text!r}: {_FORMAT_HELP}")
    parts = {key: int(val) for key, val in match.groupdict().items() if val is not None}
    if "T" in upper and not any(key in parts for key in ("hours", "minutes", "seconds")):
        raise ValueError(f"invalid SLA duration {text!r}: 'T' must be followed by hours, minutes or seconds")
    if not parts:
        raise ValueError(f"invalid SLA duration {text!r}: no components after 'P'; {_FORMAT_HELP}")
    return SlaDuration(text=upper, business_days=None, delta=timedelta(**parts))


class UnknownSla(KeyError):
    """Raised by :meth:`SlaRegistry.get` for a name that is not configured.

    A ``KeyError`` so that mapping-style callers keep working; the message lists the known names because
    the usual cause is a typo in a diagram or a missing line in ``sla.toml``.
    """

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        super().__init__(name)

    def __str__(self) -> str:
        known = ", ".join(self.known) if self.known else "(none configured)"
        return f"unknown SLA {self.name!r}; known SLAs: {known}"


class SlaRegistry:
    """The configured SLA durations, by name."""

    def __init__(self, durations: Mapping[str, SlaDuration] | None = None) -> None:
        """Wrap already parsed durations; most callers want :meth:`from_sources`."""
        self._durations: dict[str, SlaDuration] = dict(durations or {})

    @classmethod
    def from_sources(cls, defaults_file: Path | None, env_value: str | None) -> SlaRegistry:
        """Build the registry from ``sla.toml`` defaults, then apply ``BACKOFFICE_SLA`` overrides.

        A missing ``defaults_file`` (or ``None``) means "no defaults": the environment alone then
        defines the SLAs. When the file exists it is the catalogue of SLA names, and the environment may
        only override names it declares: a misspelt override would otherwise be silently ignored and,
        say, a test waiting for a 30-second timer would wait a day.
        """
        durations: dict[str, SlaDuration] = {}
        has_catalogue = False
        if defaults_file is not None:
            path = Path(defaults_file)
            if path.is_file():
                durations = _load_toml(path)
                has_catalogue = True
        overrides = _parse_env(env_value)
        for name, duration in overrides.items():
            if has_catalogue and name not in durations:
                known = ", ".join(sorted(durations)) or "(none)"
                raise ValueError(
                    f"{ENV_VAR}: item {name}={duration.text} overrides an SLA that {defaults_file} "
                    f"does not define; known SLAs: {known}"
                )
            durations[name] = duration
        return cls(durations)

    def get(self, name: str) -> SlaDuration:
        """Return the duration called ``name`` or raise :class:`UnknownSla` listing the known names."""
        try:
            return self._durations[name]
        except KeyError:
            raise UnknownSla(name, self._durations) from None

    def __contains__(self, name: object) -> bool:
        return name in self._durations

    def names(self) -> list[str]:
        """Return the configured SLA names, sorted."""
        return sorted(self._durations)

    def as_dict(self) -> dict[str, str]:
        """Return ``{name: value text}``, e.g. for an admin page or a startup log line."""
        return {name: self._durations[name].text for name in self.names()}

    def __repr__(self) -> str:
        return f"SlaRegistry({self.as_dict()!r})"


def _load_toml(path: Path) -> dict[str, SlaDuration]:
    """Read the ``[sla]`` table of ``path``; other tables are ignored so the file can grow."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from exc
    table = data.get("sla", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: 'sla' must be a table of name = \"duration\"")
    durations: dict[str, SlaDuration] = {}
    for name, value in table.items():
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"{path}: [sla] {name!r}: invalid SLA name (letters, digits, _ . - only)")
        if not isinstance(value, str):
            raise ValueError(f'{path}: [sla] {name}: value must be a string such as "PT24H", got {value!r}')
        try:
            durations[name] = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{path}: [sla] {name}: {exc}") from exc
    return durations


def _parse_env(env_value: str | None) -> dict[str, SlaDuration]:
    """Parse ``name=value;name=value``; every error names the offending item."""
    result: dict[str, SlaDuration] = {}
    if not env_value or not env_value.strip():
        return result
    for raw_item in env_value.split(";"):
        item = raw_item.strip()
        if not item:  # tolerate "a=PT1S;" and "a=PT1S;;b=1BD"
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"{ENV_VAR}: item {item!r} is not of the form name=value")
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"{ENV_VAR}: item {item!r} has an invalid SLA name {name!r}")
        if name in result:
            raise ValueError(f"{ENV_VAR}: item {item!r}: SLA {name!r} is given more than once")
        try:
            result[name] = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{ENV_VAR}: item {item!r}: {exc}") from exc
    return result


def _coerce_start(start: Any, now: Callable[[], datetime], tz: str) -> datetime:
    """Turn a script-supplied start (None, ISO string, datetime or date) into an aware datetime."""
    if start is None:
        return ensure_aware(now(), tz)
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.strip())
        except ValueError as exc:
            raise ValueError(f"start must be an ISO 8601 date/datetime, got {start!r}") from exc
    elif isinstance(start, date) and not isinstance(start, datetime):
        start = datetime.combine(start, time())
    if not isinstance(start, datetime):
        raise TypeError(f"start must be None, an ISO string, a date or a datetime, got {start!r}")
    return ensure_aware(start, tz)


def make_script_functions(
    registry: SlaRegistry,
    calendar: BusinessCalendar,
    now: Callable[[], datetime] | None = None,
    *,
    tz: str | None = None,
) -> dict[str, Callable[..., str]]:
    """Return the functions BPMN expressions may call, ``business_days`` and ``sla``, by name.

    ``business_days(n, start=None)`` is the due moment ``n`` business days after ``start``;
    ``sla(name, start=None)`` is the due moment of a configured SLA.

    Both return an ISO 8601 UTC datetime string, ready to be the value of a ``timeDate`` timer or to
    be stored as a due date in task data (strings survive workflow serialization unchanged).
    ``start`` defaults to ``now()``; it may be an ISO string, a date or a datetime (naive = local ``tz``,
    by default the calendar's time zone).
    ``now`` is injectable so tests and simulations control the clock.
    """
    cal = calendar
    tz = tz or calendar.tz
    clock: Callable[[], datetime] = now if now is not None else utcnow

    def business_days(n: int, start: Any = None) -> str:
        """Due moment ``n`` business days after ``start`` (same local time of day), as ISO UTC."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"business_days(n): n must be an int, got {n!r}")
        return business_days_deadline(n, _coerce_start(start, clock, tz), tz, calendar=cal).isoformat()

    def sla(name: str, start: Any = None) -> str:
        """Due moment of the configured SLA ``name`` counted from ``start``, as ISO UTC."""
        return registry.get(name).timer_value(_coerce_start(start, clock, tz), calendar=cal, tz=tz)

    return {"business_days": business_days, "sla": sla}
