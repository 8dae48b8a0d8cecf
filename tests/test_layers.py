"""The layers of the code base hold: engine <- forms <- tasks <- web <- backoffice, no web framework below web,
and the registry stand-in apart from the product.

The contracts live in pyproject.toml ([tool.importlinter]) and `lint-imports` checks them; the first test runs
it on the repository. The others prove the same contracts can fail: they build a tiny tree of packages with
the product's top-level names and exactly one forbidden import, and check it against the repository's own
configuration, which must then name the broken contract and the import that broke it. The last test keeps
the views on their one way to the engine services and the configuration (web/services.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = ROOT / "pyproject.toml"

LAYERS = "Imports go down only: backoffice > web > tasks > forms > engine"
NO_WEB_FRAMEWORK = "No web framework below web: workers never load Flask or Flask-Login"
REGISTRY_APART = "The registry stand-in shares no code with the product it stands in for"

# A tree that keeps every contract: each package imports only what is below it.
CLEAN_TREE: dict[str, str] = {
    "engine/__init__.py": "",
    "engine/runtime.py": "import sqlalchemy\n",
    "forms/__init__.py": "",
    "forms/dates.py": "from engine import runtime\n",
    "tasks/__init__.py": "",
    "tasks/models.py": "from engine import runtime\nfrom forms import dates\n",
    "web/__init__.py": "",
    "web/pages.py": "import flask\nimport flask_login\nfrom tasks import models\nfrom web import wording\n",
    "web/wording.py": "",
    "backoffice/__init__.py": "",
    "backoffice/cli.py": "from web import pages\n",
    "backoffice/registry/__init__.py": "import flask\n",
}


def lint_imports(cwd: Path, config: Path = CONFIG) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the repository's contracts on the packages found first on the path from `cwd`."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def outcome(output: str, contract: str) -> str:
    """KEPT or BROKEN, as the report's summary line of `contract` says (long names wrap onto a second line)."""
    summary = " ".join(output.split("Contracts: ")[0].split())
    start = summary.index(" ".join(contract.split()))
    return summary[start + len(" ".join(contract.split())):].split()[0]


def test_the_repository_keeps_every_layer_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_clean_toy_tree_keeps_every_contract(tmp_path: Path):
    write_tree(tmp_path, CLEAN_TREE)
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in (LAYERS, NO_WEB_FRAMEWORK, REGISTRY_APART):
        assert outcome(result.stdout, contract) == "KEPT"


@pytest.mark.parametrize(("module", "text", "broken", "named"), [
    # The domain reaching up into the web layer (as tasks/ once imported web.accounts).
    ("tasks/leak.py", "from web import wording\n", LAYERS, "tasks.leak -> web.wording"),
    # The runtime knowing about the domain.
    ("engine/leak.py", "import tasks.models\n", LAYERS, "engine.leak -> tasks.models"),
    # A worker module loading Flask-Login (as the account model once did through UserMixin).
    ("tasks/user.py", "from flask_login import UserMixin\n", NO_WEB_FRAMEWORK, "tasks.user -> flask_login"),
    # The stand-in reading the product's own tables instead of its own dataset.
    ("backoffice/registry/lookups.py", "from tasks import models\n", REGISTRY_APART,
     "backoffice.registry.lookups -> tasks.models"),
])
def test_one_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, text: str, broken: str, named: str):
    write_tree(tmp_path, {**CLEAN_TREE, module: text})
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert outcome(result.stdout, broken) == "BROKEN"
    assert "1 broken" in result.stdout
    # The report names the offending import: "tasks.leak -> web.wording (l.1)".
    assert named in " ".join(result.stdout.split())


# The app factory writes these; web/services.py reads them; old migrations keep what they shipped with.
_SERVICES_KEY = re.compile(r"""extensions\[\s*["']backoffice(?:_config)?["']\s*\]""")
_SERVICES_OWNERS = {ROOT / "web" / "app.py", ROOT / "web" / "services.py"}


def test_views_reach_services_and_configuration_through_web_services():
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "web").rglob("*.py"))
                 if path not in _SERVICES_OWNERS and "migrations" not in path.parts
                 and _SERVICES_KEY.search(path.read_text(encoding="utf-8"))]
    assert offenders == [], f"read app.extensions through web.services.services()/app_config(): {offenders}"


# The API's error is the domain's (tasks/errors.py); web/api_errors.py answers it but does not hand it out.
_API_ERROR_ELSEWHERE = re.compile(r"^from (?:\.+|web\.)api_errors import [^\n]*\bApiError\b", re.M)


def test_api_error_is_imported_from_one_place():
    offenders = [str(path.relative_to(ROOT)) for package in ("web", "tasks", "backoffice", "tests")
                 for path in sorted((ROOT / package).rglob("*.py"))
                 if _API_ERROR_ELSEWHERE.search(path.read_text(encoding="utf-8"))]
    assert offenders == [], f"import ApiError from tasks.errors: {offenders}"
