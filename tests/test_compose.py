"""docker-compose.yml runs nothing but real `backoffice` subcommands."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import yaml

from tasks.config import AppConfig
from tests.support import forkserver

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
            # `python -m backoffice.cli ... --help`, forked from the tests' fork server (one import, not six)
            out = forkserver.run([*words, "--help"], env=os.environ, cwd=ROOT, check=False)
            assert out.returncode == 0, f"{name}: backoffice {' '.join(words)}: {out.stderr}"
            checked += 1
    assert checked >= 4
    worker = compose["services"]["worker"]["command"]
    assert worker[worker.index("--processes") + 1] == "2"  # one pool of two workers


def _compose_defaults(environment: dict[str, object]) -> dict[str, str]:
    """The service's environment as docker-compose resolves it with nothing set: `${X:-d}` is d."""
    resolved = {}
    for name, value in environment.items():
        text = str(value)
        default = re.fullmatch(r"\$\{\w+:-(.*)\}", text)
        if default:
            resolved[name] = default.group(1)
        elif "${" not in text:
            resolved[name] = text
    return resolved


def test_the_web_service_is_deployed_with_secure_cookies_hsts_and_no_demo_mailbox():
    """What the deployment turns on by default (issue 16, 1.10): cookies only over HTTPS, HSTS, no trusted proxy
    unless one is declared, and never the demo mailbox."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = _compose_defaults(compose["services"]["web"]["environment"])
    config = AppConfig.from_env({**env, "SECRET_KEY": "compose-test"})
    assert config.session_cookie_secure and config.hsts
    assert config.trusted_proxies == 0 and not config.demo_mailbox
    assert "DEMO_MAILBOX" not in env
