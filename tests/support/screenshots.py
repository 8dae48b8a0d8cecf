"""Screenshots of pages for people to look at, attached to the test output.

`screenshots.take(page, "operator-inbox-1366")` writes a full-page PNG to TEST_SCREENSHOT_DIR (default:
`screenshots/` under pytest's base temporary directory) and remembers it; the terminal summary
(`tests/conftest.py`) lists every file written in the run, so they can be opened after a run or kept by CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

ENV = "TEST_SCREENSHOT_DIR"
TAKEN: list[Path] = []


class Screenshots:
    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix

    def take(self, page: Page, name: str) -> Path:
        """A full-page PNG of what `page` shows now, named `<test>-<name>.png`."""
        path = self.folder / f"{self.prefix}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.wait_for_load_state("load")
        page.screenshot(path=str(path), full_page=True)
        TAKEN.append(path)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screenshots]:
    configured = os.environ.get(ENV)
    folder = Path(configured) if configured else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    yield Screenshots(folder, re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-"))


def summary_lines() -> list[str]:
    return [str(path) for path in TAKEN if path.exists()]
