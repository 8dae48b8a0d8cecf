"""docker-compose.yml runs nothing but real `backoffice` subcommands."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _backoffice_commands(command: list[str]) -> list[list[str]]:
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def test_every_service_runs_a_real_subcommand():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    checked = 0
    for name, service in compose["services"].items():
        if name in ("postgres", "redis"):
            continue
        for argv in _backoffice_commands(service["command"]):
            assert argv[0] == "backoffice", f"{name}: {argv}"
            words = [w for w in argv[1:] if not w.startswith("-")][:2]
            out = subprocess.run([sys.executable, "-m", "backoffice.cli", *words, "--help"], cwd=ROOT,
                                 capture_output=True, text=True)
            assert out.returncode == 0, f"{name}: backoffice {' '.join(words)}: {out.stderr}"
            checked += 1
    assert checked >= 4
    assert compose["services"]["worker"]["deploy"]["replicas"] == 2
