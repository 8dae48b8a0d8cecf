"""Which checkout a benchmark measures, and its migrated, deployed database.

`--tree DIR` on a benchmark's command line measures another checkout's code with this checkout's
benchmark: importing this module (before anything of the product) puts that tree first on sys.path, and
this checkout's `benchmarks` package after it. Run as a script, a benchmark has benchmarks/ itself as
sys.path[0], where benchmarks/engine.py would shadow the product's `engine` package: that entry is
replaced by the tree. Importing it twice (a benchmark that imports another) changes nothing more.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TREE = Path(sys.argv[sys.argv.index("--tree") + 1]).resolve() if "--tree" in sys.argv else HERE.parent

if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path[0] = str(TREE)
elif str(TREE) not in sys.path:
    sys.path.insert(0, str(TREE))
if str(HERE.parent) not in sys.path:
    sys.path.append(str(HERE.parent))  # this checkout's benchmark support, after the measured tree


def prepare(backend: Any, **extra: str) -> dict[str, str]:
    """The tree's environment on `backend` (this process's too), its migrations run and its workflows/
    deployed through its own CLI, as a deployment would."""
    env = backend.env(BACKOFFICE_WORKFLOWS_DIR=str(TREE / "workflows"), PYTHONPATH=str(TREE), **extra)
    os.environ.clear()
    os.environ.update(env)
    for command in (["db", "upgrade"], ["workflows", "deploy", str(TREE / "workflows")]):
        subprocess.run([sys.executable, "-m", "backoffice.cli", *command], env=env, cwd=TREE, check=True,
                       capture_output=True, timeout=600)
    return env
