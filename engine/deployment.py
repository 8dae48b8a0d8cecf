"""The one deploy set-up: the CLI (`backoffice workflows deploy`) and the studio's drafts both use it.

Both check diagrams with exactly the same `Deployer`: the operators loaded from the configured
modules, the script functions and SLA names of the configured catalogue, the form schema
directories, the diagram (DI) checker, and lane roles from the ``lanes.toml`` next to the diagrams.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from engine.context import build_script_env
from engine.db import Database
from engine.deploy import Deployer
from engine.operators import load_operator_modules
from engine.settings import Settings
from engine.validation import diagram_checker

LANES_FILE = "lanes.toml"


def build_deployer(settings: Settings, database: Database | None = None) -> Deployer:
    """A Deployer configured as every deploy is checked (``database``: reuse the app's engine)."""
    load_operator_modules(settings.operator_modules)
    script_env, sla = build_script_env(settings)
    return Deployer(database or Database.from_url(settings.database_url), script_env, settings.forms_dirs,
                    sla_names=sla.names(), extra_checkers=[diagram_checker])


def read_lanes(directories: Iterable[Path]) -> dict[str, str]:
    """Lane name -> role from the ``lanes.toml`` of each directory that has one."""
    lanes: dict[str, str] = {}
    for directory in directories:
        lanes_file = directory / LANES_FILE
        if lanes_file.is_file():
            lanes.update(tomllib.loads(lanes_file.read_text(encoding="utf-8")).get("lanes", {}))
    return lanes
