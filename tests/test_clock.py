"""The injectable clock (engine/clock.py): one offset file moves every reader's "now", SpiffWorkflow's
timer checks included, and the configuration names the file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from engine import clock
from forms.dates import MOSCOW, today_moscow
from tasks.config import engine_settings
from tests.support.clock import OFFSET_FILE

SLACK = timedelta(minutes=5)  # the test's own steps take far less; no speed is asserted


@pytest.fixture
def offset_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "clock-offset"
    clock.use_offset_file(path)
    try:
        yield path
    finally:
        clock.use_offset_file(OFFSET_FILE)  # the clock every test process shares (tests/support/clock.py)


def _near(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < SLACK


def test_without_a_file_or_with_an_empty_one_the_clock_is_the_systems(offset_file: Path) -> None:
    assert _near(clock.utcnow(), datetime.now(UTC)) and clock.utcnow().tzinfo is not None
    offset_file.write_text("")
    assert clock.offset() == timedelta(0)


def test_the_offset_moves_now_and_a_changed_file_is_read_again(offset_file: Path) -> None:
    clock.write_offset(offset_file, 3 * 86400)
    assert clock.offset() == timedelta(days=3)
    assert _near(clock.utcnow(), datetime.now(UTC) + timedelta(days=3))
    clock.write_offset(offset_file, 40 * 86400)
    assert clock.offset() == timedelta(days=40)
    assert today_moscow() == (datetime.now(UTC) + timedelta(days=40)).astimezone(MOSCOW).date()
    offset_file.unlink()
    assert clock.offset() == timedelta(0)


def test_spiffworkflow_timers_read_the_same_clock(offset_file: Path) -> None:
    clock.write_offset(offset_file, 3600)
    seen = spiff_timer.datetime.now(UTC)
    assert _near(seen, datetime.now(UTC) + timedelta(hours=1))
    # parsing a due time still gives a moment that compares with the standard library's
    due = spiff_timer.TimerEventDefinition.get_datetime("2030-01-01T00:00:00+00:00")
    assert due == datetime(2030, 1, 1, tzinfo=UTC)
    # tasks stamp their state changes (the step analytics read them) on the same clock
    assert _near(datetime.fromtimestamp(spiff_task.time.time(), UTC), datetime.now(UTC) + timedelta(hours=1))


def test_the_configuration_names_the_file_and_leaves_it_out_by_default(tmp_path: Path) -> None:
    env = {"BACKOFFICE_DATA_DIR": str(tmp_path)}
    assert engine_settings(env).clock_offset_file is None
    path = tmp_path / "offset"
    assert engine_settings({**env, "CLOCK_OFFSET_FILE": str(path)}).clock_offset_file == path.resolve()
