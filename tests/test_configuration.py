"""One configuration object per process, passed in; the engine is told the domain's choices.

Every process reads the environment once, at its entry point, into an `AppConfig`: no module may read it
when it is imported (a value read then is frozen before the process's configuration exists, and a test
or a second app in the same process cannot change it). The engine is a generic runtime: the operator
packages, the form folder and the production calendar are the application's to name.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.calendar import BusinessCalendar
from engine.operators import get_operator
from tasks.config import FORMS_DIR, AppConfig, business_calendar, engine_settings
from tasks.process import install_config, installed_config

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = ("tests", "benchmarks")
# The product's packages: every directory of the repository that is a Python package, except the tests and the
# benchmark scripts (measuring tools whose knobs are their environment, not parts of a running product).
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in NOT_PRODUCT)
# Importing these runs something else's program by design: the WSGI module builds the app from the
# environment for the server that imports it; Alembic's env.py runs migrations inside Alembic.
ENTRY_MODULES = ("web.wsgi",)
NOT_IMPORTABLE = ("web.migrations",)
# What only the domain may name: its packages, its form folder, its calendar.
DOMAIN_PACKAGES = ("tasks", "forms", "web", "workflows")

# Runs in a fresh interpreter: os.environ is replaced by a mapping that records which of the product's
# modules touched it, then every module of the product is imported.
_AUDIT = textwrap.dedent("""
    import importlib, json, os, pkgutil, sys
    from collections.abc import MutableMapping

    packages, skip = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
    reads = []
    plumbing = {"os", "_collections_abc", "collections.abc", "__main__"}

    class Audited(MutableMapping):
        def __init__(self, real):
            self._real = real

        def _note(self, what):
            frame = sys._getframe(2)
            while frame is not None and frame.f_globals.get("__name__") in plumbing:
                frame = frame.f_back
            name = frame.f_globals.get("__name__", "") if frame is not None else ""
            if name.split(".")[0] in packages:
                reads.append(f"{name}:{frame.f_lineno} {what}")

        def __getitem__(self, key):
            self._note(key)
            return self._real[key]

        def __contains__(self, key):
            self._note(key)
            return key in self._real

        def __iter__(self):
            self._note("*")
            return iter(self._real)

        def __len__(self):
            return len(self._real)

        def __setitem__(self, key, value):
            self._real[key] = value

        def __delitem__(self, key):
            del self._real[key]

        def copy(self):
            self._note("*")
            return dict(self._real)

    os.environ = Audited(os.environ)
    failed = []
    for package in packages:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if info.name.startswith(skip):
                continue
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed.append(f"{info.name}: {exc!r}")
    print(json.dumps({"reads": reads, "failed": failed}))
""")


def _module_level(tree: ast.Module) -> list[ast.AST]:
    """Every node that runs when the module is imported: outside function bodies (class bodies run)."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack += [child for child in ast.iter_child_nodes(node)
                  if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]
    return nodes


def _environment_reads(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
        return ast.unparse(node)
    if isinstance(node, ast.Name) and node.id in ("environ", "getenv"):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_env":
        return ast.unparse(node)
    return None


def _sources(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py")
                  if "migrations" not in path.parts)


def test_no_module_reads_the_environment_at_import() -> None:
    """Importing every module of the product touches os.environ from none of them (a real import of
    everything, in a fresh interpreter whose os.environ records who asks)."""
    assert {"engine", "forms", "tasks", "web"} <= set(PACKAGES)
    out = subprocess.run([sys.executable, "-c", _AUDIT, json.dumps(PACKAGES),
                          json.dumps([*ENTRY_MODULES, *NOT_IMPORTABLE])],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failed"] == []
    assert report["reads"] == []


def test_no_module_level_code_reads_the_environment() -> None:
    """The same, read from the source: code outside functions neither names os.environ/getenv nor builds a
    configuration `from_env` (which would read it), in modules an import of everything does not reach too."""
    found = []
    for path in _sources(*PACKAGES):
        if path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".") in ENTRY_MODULES:
            continue
        for node in _module_level(ast.parse(path.read_text(encoding="utf-8"))):
            read = _environment_reads(node)
            if read:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {read}")
    assert found == []


def test_the_engine_names_no_domain_package_form_folder_or_calendar() -> None:
    """engine/ is told its operator packages, form folder and calendar by the application."""
    found = []
    for path in _sources("engine"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        keys = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}  # dct["tasks"]: Spiff's data
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{where} imports {n}" for n in names if n.split(".")[0] in DOMAIN_PACKAGES]
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in keys:
                continue
            value = node.value
            if value.split(".")[0] in DOMAIN_PACKAGES and value.replace(".", "").replace("_", "").isalpha():
                found.append(f"{where} names the package {value!r}")
            if "forms/schemas" in value or value == "schemas":
                found.append(f"{where} names the form folder {value!r}")
            if value in ("RU", "Europe/Moscow"):
                found.append(f"{where} chooses the calendar {value!r}")
    assert found == []


def test_the_domain_tells_the_engine_its_packages_forms_and_calendar(tmp_path: Path) -> None:
    settings = engine_settings({"BACKOFFICE_DATA_DIR": str(tmp_path),
                                "BACKOFFICE_OPERATOR_MODULES": "tests.support.operators, tasks"})
    assert settings.operator_modules == ["tasks", "tests.support.operators"]  # the product's first, once
    assert settings.forms_dirs == [FORMS_DIR]
    assert (settings.calendar_country, settings.time_zone) == ("RU", "Europe/Moscow")
    calendar = business_calendar()
    assert isinstance(calendar, BusinessCalendar) and (calendar.country, calendar.tz) == ("RU", "Europe/Moscow")


def test_a_configuration_is_read_from_the_mapping_it_is_given_only(tmp_path: Path, monkeypatch) -> None:
    """What the process's environment says does not leak into a configuration built from another mapping."""
    monkeypatch.setenv("REGISTRY_URL", "http://registry.invalid:1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@db.invalid/x")
    config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    assert config.registry_url == "http://127.0.0.1:8010"
    assert config.settings.database_url.startswith("sqlite:///")
    assert config.settings.data_dir == tmp_path.resolve()


def test_the_operators_take_their_retries_and_deadlines_from_the_installed_configuration(tmp_path: Path) -> None:
    before = installed_config()
    env = {"BACKOFFICE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, "NOTIFY_RETRY_MAX_DELAY": "7",
           "REGISTRY_RETRY_MAX_ATTEMPTS": "3", "REGISTRY_TIMEOUT": "1"}
    try:
        config = AppConfig.from_env(env)
        install_config(config)
        for name in ("notify.case_status", "registers.send", "support.reply", "support.remind"):
            assert get_operator(name).retry.max_delay == 7
        for name in ("registry.check_passport", "registry.find_policy", "employees.check_batch"):
            assert get_operator(name).retry.max_attempts == 3
        assert get_operator("registry.check_snils").timeout == config.registry_client.worst_case() + 5
    finally:
        install_config(before or AppConfig.from_env({**env, "NOTIFY_RETRY_MAX_DELAY": "",
                                                     "REGISTRY_RETRY_MAX_ATTEMPTS": "", "REGISTRY_TIMEOUT": ""}))
