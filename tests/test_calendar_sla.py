"""Tests for the production calendar (engine.calendar) and named SLA durations (engine.sla).

The calendar truths below come from the Russian government decrees for 2025 and 2026; if one of them
fails after upgrading ``holidays``, the data changed and deadlines in running workflows would move.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.calendar import BusinessCalendar, business_days_deadline
from engine.sla import (
    ENV_VAR,
    SlaDuration,
    SlaRegistry,
    UnknownSla,
    make_script_functions,
    parse_duration,
)

MSK = ZoneInfo("Europe/Moscow")
# The engine counts business days on the calendar the application names; these tests name Russia's.
RU = BusinessCalendar("RU", tz="Europe/Moscow")


def msk(*args: int) -> datetime:
    """Moscow wall-clock time, the way a person states a deadline."""
    return datetime(*args, tzinfo=MSK)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return RU


# --------------------------------------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 11, 1), True),  # working Saturday (transferred to 3 November)
        (date(2025, 11, 3), False),  # day off transferred from 1 November
        (date(2025, 11, 4), False),  # Unity Day
        (date(2025, 11, 5), True),
        (date(2025, 11, 8), False),  # plain Saturday
        (date(2025, 11, 9), False),  # plain Sunday
        (date(2025, 12, 31), False),  # day off transferred from 5 January 2025
        (date(2025, 12, 30), True),
        *[(date(2026, 1, d), False) for d in range(1, 12)],  # New Year holidays incl. 9 Jan transfer
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),  # 8 March falls on Sunday
        (date(2026, 12, 31), False),  # day off transferred from 4 January 2026
    ],
)
def test_is_business_day(cal: BusinessCalendar, day: date, expected: bool) -> None:
    assert cal.is_business_day(day) is expected


def test_is_business_day_accepts_datetime(cal: BusinessCalendar) -> None:
    assert cal.is_business_day(datetime(2025, 11, 1, 23, 59)) is True


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 10, 30), 5, date(2025, 11, 7)),  # 1 Nov works, 3-4 Nov off
        (date(2025, 12, 26), 10, date(2026, 1, 21)),  # 31 Dec and 1-11 Jan off
        (date(2025, 10, 31), 1, date(2025, 11, 1)),  # Friday -> working Saturday
        (date(2025, 11, 7), 1, date(2025, 11, 10)),  # Friday -> Monday
        (date(2025, 11, 8), 1, date(2025, 11, 10)),  # from a Saturday
        (date(2025, 11, 5), 0, date(2025, 11, 5)),  # n=0 on a business day: the day itself
        (date(2025, 11, 2), 0, date(2025, 11, 5)),  # n=0 on a day off: next business day
        (date(2025, 12, 30), 1, date(2026, 1, 12)),
    ],
)
def test_add_business_days(cal: BusinessCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_business_days(start, n) == expected


@pytest.mark.parametrize(("n", "exc"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_add_business_days_rejects_bad_n(cal: BusinessCalendar, n: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        cal.add_business_days(date(2025, 11, 5), n)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (date(2025, 10, 30), date(2025, 11, 7), 5),
        (date(2025, 12, 26), date(2026, 1, 21), 10),
        (date(2025, 11, 7), date(2025, 11, 7), 0),
        (date(2025, 11, 7), date(2025, 10, 30), -5),  # -(30 Oct, 7 Nov]: 31 Oct, 1, 5, 6, 7 Nov
        (date(2025, 11, 2), date(2025, 11, 4), 0),
    ],
)
def test_business_days_between(cal: BusinessCalendar, a: date, b: date, expected: int) -> None:
    assert cal.business_days_between(a, b) == expected


def test_between_is_inverse_of_add(cal: BusinessCalendar) -> None:
    start = date(2025, 12, 20)
    for n in range(1, 40):
        assert cal.business_days_between(start, cal.add_business_days(start, n)) == n


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (msk(2025, 11, 7, 15, 0), 1, msk(2025, 11, 10, 15, 0)),  # Friday 15:00 -> Monday 15:00
        (msk(2025, 10, 30, 9, 30), 5, msk(2025, 11, 7, 9, 30)),
        (msk(2025, 12, 26, 18, 0), 10, msk(2026, 1, 21, 18, 0)),
        # 22:30 UTC on Friday is already Saturday 01:30 in Moscow: the local date decides.
        (datetime(2025, 11, 7, 22, 30, tzinfo=UTC), 1, msk(2025, 11, 10, 1, 30)),
        # naive start is Moscow local time
        (datetime(2025, 11, 7, 15, 0), 1, msk(2025, 11, 10, 15, 0)),
    ],
)
def test_business_days_deadline(start: datetime, n: int, expected: datetime) -> None:
    due = business_days_deadline(n, start, calendar=RU)
    assert due == expected
    assert due.tzinfo is UTC


def test_business_days_deadline_other_tz() -> None:
    start = datetime(2025, 11, 7, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))
    due = business_days_deadline(1, start, tz="Asia/Vladivostok", calendar=RU)
    assert due == datetime(2025, 11, 10, 15, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))


def test_business_days_deadline_defaults_to_now() -> None:
    before = datetime.now(UTC)
    due = business_days_deadline(1, calendar=RU)
    assert due.tzinfo is UTC
    assert before < due < before + timedelta(days=30)


# ------------------------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "business_days", "delta"),
    [
        ("PT30S", None, timedelta(seconds=30)),
        ("PT24H", None, timedelta(hours=24)),
        ("P30D", None, timedelta(days=30)),
        ("P1DT2H", None, timedelta(days=1, hours=2)),
        ("PT1H30M", None, timedelta(hours=1, minutes=30)),
        ("PT5M", None, timedelta(minutes=5)),
        ("P2W", None, timedelta(weeks=2)),
        ("PT0S", None, timedelta(0)),
        (" pt24h ", None, timedelta(hours=24)),
        ("1BD", 1, None),
        ("10BD", 10, None),
        ("0BD", 0, None),
        ("3bd", 3, None),
    ],
)
def test_parse_duration_good(text: str, business_days: int | None, delta: timedelta | None) -> None:
    parsed = parse_duration(text)
    assert parsed.business_days == business_days
    assert parsed.delta == delta
    assert parsed.text == text.strip().upper()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5 days", "invalid SLA duration"),
        ("PT", "'T' must be followed"),
        ("P", "no components"),
        ("-1BD", "non-negative integer"),
        ("1.5BD", "non-negative integer"),
        ("BD", "non-negative integer"),
        ("", "empty"),
        ("P1M", "years and months"),
        ("P1Y2D", "years and months"),
        ("PT1.5H", "invalid SLA duration"),
        ("P1W2D", "invalid SLA duration"),
        ("24H", "invalid SLA duration"),
        ("PT24HX", "invalid SLA duration"),
        ("2025-11-07T15:00:00+03:00", "invalid SLA duration"),
    ],
)
def test_parse_duration_bad(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_sla_duration_needs_exactly_one_kind() -> None:
    with pytest.raises(ValueError):
        SlaDuration("x", business_days=1, delta=timedelta(1))
    with pytest.raises(ValueError):
        SlaDuration("x", business_days=None, delta=None)


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("PT24H", msk(2025, 11, 7, 15, 0), msk(2025, 11, 8, 15, 0)),  # calendar-blind
        ("PT30S", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC)),
        ("P1DT2H", msk(2025, 12, 31, 23, 0), msk(2026, 1, 2, 1, 0)),
        ("1BD", msk(2025, 11, 7, 15, 0), msk(2025, 11, 10, 15, 0)),  # across a weekend
        ("1BD", msk(2025, 10, 31, 15, 0), msk(2025, 11, 1, 15, 0)),  # onto the working Saturday
        ("1BD", msk(2025, 12, 30, 11, 0), msk(2026, 1, 12, 11, 0)),  # across the New Year holidays
        ("2BD", msk(2025, 12, 29, 11, 0), msk(2026, 1, 12, 11, 0)),
    ],
)
def test_due(text: str, start: datetime, expected: datetime) -> None:
    due = parse_duration(text).due(start, calendar=RU)
    assert due == expected
    assert due.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("PT24H", msk(2025, 11, 7, 15, 0)),
        ("1BD", msk(2025, 12, 30, 11, 0)),
        ("10BD", datetime(2025, 12, 26, 12, 0, 0, 123456, tzinfo=UTC)),
        ("PT0S", datetime(2025, 6, 1, tzinfo=timezone(timedelta(hours=-5)))),
    ],
)
def test_timer_value_round_trips_through_spiffworkflow(text: str, start: datetime) -> None:
    duration = parse_duration(text)
    value = duration.timer_value(start, calendar=RU)
    # This is exactly what TimeDateEventDefinition.has_fired does with the evaluated expression.
    parsed = TimeDateEventDefinition.parse_time_or_duration(value)
    assert isinstance(parsed, datetime)
    assert parsed == duration.due(start, calendar=RU)
    assert TimeDateEventDefinition.get_datetime(value) == duration.due(start, calendar=RU)


# ------------------------------------------------------------------------------------------- registry

SLA_TOML = """
[sla]
operator_review = "PT24H"
appeal_review = "10BD"
archive = "P30D"

[other]
ignored = 1
"""


@pytest.fixture
def sla_toml(tmp_path: Path) -> Path:
    path = tmp_path / "sla.toml"
    path.write_text(SLA_TOML, encoding="utf-8")
    return path


def test_registry_defaults_only(sla_toml: Path) -> None:
    registry = SlaRegistry.from_sources(sla_toml, None)
    assert registry.names() == ["appeal_review", "archive", "operator_review"]
    assert registry.as_dict() == {"appeal_review": "10BD", "archive": "P30D", "operator_review": "PT24H"}
    assert registry.get("operator_review").delta == timedelta(hours=24)
    assert "archive" in registry


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            "operator_review=PT30S;appeal_review=2BD",
            {"appeal_review": "2BD", "archive": "P30D", "operator_review": "PT30S"},
        ),
        (
            " operator_review = PT30S ; ",
            {"appeal_review": "10BD", "archive": "P30D", "operator_review": "PT30S"},
        ),
        ("", {"appeal_review": "10BD", "archive": "P30D", "operator_review": "PT24H"}),
        (None, {"appeal_review": "10BD", "archive": "P30D", "operator_review": "PT24H"}),
    ],
)
def test_registry_env_overrides(sla_toml: Path, env: str | None, expected: dict[str, str]) -> None:
    assert SlaRegistry.from_sources(sla_toml, env).as_dict() == expected


def test_registry_env_override_values(sla_toml: Path) -> None:
    registry = SlaRegistry.from_sources(sla_toml, "operator_review=PT30S;appeal_review=2BD")
    assert registry.get("operator_review").delta == timedelta(seconds=30)
    assert registry.get("appeal_review").business_days == 2


@pytest.mark.parametrize("defaults", [None, "missing.toml"])
def test_registry_env_only(tmp_path: Path, defaults: str | None) -> None:
    path = tmp_path / defaults if defaults else None
    registry = SlaRegistry.from_sources(path, "operator_review=PT30S;appeal_review=2BD")
    assert registry.as_dict() == {"appeal_review": "2BD", "operator_review": "PT30S"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("operator_review=PT30S;appeal_review=5 days", r"item 'appeal_review=5 days'"),
        ("operator_review", r"item 'operator_review' is not of the form name=value"),
        ("=PT30S", r"invalid SLA name"),
        ("operator_review=PT1S;operator_review=PT2S", r"more than once"),
        ("operator_reviwe=PT30S", r"operator_reviwe.*known SLAs: appeal_review, archive, operator_review"),
        ("appeal_review=-1BD", r"item 'appeal_review=-1BD'.*non-negative"),
    ],
)
def test_registry_env_errors(sla_toml: Path, env: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        SlaRegistry.from_sources(sla_toml, env)
    assert ENV_VAR in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[sla]\nx = "5 days"\n', r"\[sla\] x: invalid SLA duration"),
        ("[sla]\nx = 5\n", r"must be a string"),
        ('sla = "PT1H"\n', r"must be a table"),
        ("[sla\n", r"invalid TOML"),
        ('[sla]\n"bad name" = "PT1H"\n', r"invalid SLA name"),
    ],
)
def test_registry_bad_toml(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        SlaRegistry.from_sources(path, None)


def test_unknown_sla(sla_toml: Path) -> None:
    registry = SlaRegistry.from_sources(sla_toml, None)
    with pytest.raises(UnknownSla) as info:
        registry.get("nope")
    assert isinstance(info.value, KeyError)
    assert info.value.name == "nope"
    assert str(info.value) == "unknown SLA 'nope'; known SLAs: appeal_review, archive, operator_review"
    with pytest.raises(KeyError, match="none configured"):
        SlaRegistry().get("x")


# ------------------------------------------------------------------------------------- script functions

FIXED_NOW = datetime(2025, 11, 7, 12, 0, tzinfo=UTC)  # Friday 15:00 Moscow


@pytest.fixture
def functions(sla_toml: Path) -> dict:
    registry = SlaRegistry.from_sources(sla_toml, "operator_review=PT30S")
    return make_script_functions(registry, RU, lambda: FIXED_NOW)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda f: f["business_days"](1), "2025-11-10T12:00:00+00:00"),
        (lambda f: f["business_days"](0), "2025-11-07T12:00:00+00:00"),
        (lambda f: f["business_days"](5, "2025-10-30T09:30:00+03:00"), "2025-11-07T06:30:00+00:00"),
        (lambda f: f["business_days"](1, "2025-11-07"), "2025-11-09T21:00:00+00:00"),  # Mon 00:00 MSK
        (lambda f: f["business_days"](1, date(2025, 11, 7)), "2025-11-09T21:00:00+00:00"),
        (lambda f: f["business_days"](1, msk(2025, 12, 30, 11, 0)), "2026-01-12T08:00:00+00:00"),
        (lambda f: f["sla"]("operator_review"), "2025-11-07T12:00:30+00:00"),
        (lambda f: f["sla"]("appeal_review"), "2025-11-21T12:00:00+00:00"),
        (lambda f: f["sla"]("archive", "2025-01-01T00:00:00+00:00"), "2025-01-31T00:00:00+00:00"),
    ],
)
def test_script_functions(functions: dict, call, expected: str) -> None:
    assert call(functions) == expected


def test_script_functions_errors(functions: dict) -> None:
    with pytest.raises(UnknownSla):
        functions["sla"]("nope")
    with pytest.raises(ValueError, match="ISO 8601"):
        functions["sla"]("archive", "yesterday")
    with pytest.raises(TypeError):
        functions["business_days"]("1")
    with pytest.raises(ValueError):
        functions["business_days"](-1)


TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="timer_process" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">sla("operator_review")</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(
    ("now", "fires"),
    [
        (datetime(2020, 1, 1, tzinfo=UTC), True),  # due in the past: fires on the first refresh
        (datetime(2999, 1, 1, tzinfo=UTC), False),
    ],
)
def test_sla_in_a_real_timedate_timer(now: datetime, fires: bool) -> None:
    registry = SlaRegistry.from_sources(None, "operator_review=PT30S")
    script_engine = PythonScriptEngine(
        environment=TaskDataEnvironment(make_script_functions(registry, RU, lambda: now))
    )
    parser = BpmnParser()
    parser.add_bpmn_str(TIMER_BPMN.encode())
    workflow = BpmnWorkflow(parser.get_spec("timer_process"), script_engine=script_engine)
    workflow.do_engine_steps()
    workflow.refresh_timers()
    workflow.do_engine_steps()

    assert workflow.is_completed() is fires
    if not fires:
        [event] = workflow.waiting_events()
        assert event.value == (now + timedelta(seconds=30)).isoformat()
        [task] = workflow.get_tasks(state=TaskState.WAITING)
        assert task.task_spec.bpmn_id == "wait"


@pytest.mark.parametrize(("start", "sla_text", "expected"), [
    # The appeal reminder: Thursday 30 October 2025 + 5 business days skips the 3-4 November days off
    # and counts the working Saturday 1 November.
    (datetime(2025, 10, 30, 10, 0, tzinfo=MSK), "5BD", date(2025, 11, 7)),
    # The appeal deadline across the New Year holidays: 31 December 2025 and 1-11 January 2026 are off.
    (datetime(2025, 12, 26, 10, 0, tzinfo=MSK), "10BD", date(2026, 1, 21)),
])
def test_appeal_deadlines_over_holidays(start: datetime, sla_text: str, expected: date) -> None:
    registry = SlaRegistry({"appeal": parse_duration(sla_text)})
    due = datetime.fromisoformat(make_script_functions(registry, RU)["sla"]("appeal", start))
    assert due.astimezone(MSK).date() == expected
    assert due.astimezone(MSK).time() == start.time()
