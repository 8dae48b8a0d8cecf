"""How long the deploy validation takes on the largest diagram of workflows/ (the studio runs it on every
draft page view, validate, propose and approve, so it must stay well under a page's budget).

The validation is the one `backoffice workflows deploy` and the studio use, configured the same way
(operators, script functions, SLA catalogue, form directories, lanes.toml, the diagram checker); only the
lane roles stored in the database are left out, so no database is needed. The largest BPMN file is
checked together with the workflows' DMN files, as a deploy of it would be (its decisions must build).
Two figures: cold, with the validation's caches of script and form checks emptied before each run (a
draft of all-new code), and warm (the same draft's page viewed again).

    .venv/bin/python benchmarks/validation.py [--runs 20] [--workflows DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import validation  # noqa: E402
from engine.context import build_script_env  # noqa: E402
from engine.deploy import Source  # noqa: E402
from engine.deployment import read_lanes  # noqa: E402
from engine.operators import get_operator, load_operator_modules  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.validation import ValidationContext, diagram_checker, run_validation  # noqa: E402
from tasks.config import engine_settings  # noqa: E402


def _context(settings: Settings, directory: Path) -> ValidationContext:
    load_operator_modules(settings.operator_modules)
    script_env, sla = build_script_env(settings)
    return ValidationContext(allowed_functions=script_env.allowed_names, operators=get_operator,
                             sla_names=sla.names(), forms_dirs=settings.forms_dirs,
                             lane_roles=read_lanes([directory]), extra_checkers=[diagram_checker])


def _measure(sources: list[Source], context: ValidationContext, runs: int, cold: bool) -> list[float]:
    """Milliseconds of each run; the first (imports) is not counted. ``cold``: the validation's caches of
    script and form checks are emptied before each run, as for a draft whose code is all new."""
    problems = run_validation(sources, context).problems
    if problems:
        raise SystemExit("the diagram does not pass the validation:\n" + "\n".join(f"  {p}" for p in problems))
    times = []
    for _ in range(runs):
        if cold:
            validation._violations.cache_clear()
            validation._form_problem.cache_clear()
        start = time.perf_counter()
        run_validation(sources, context)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workflows", type=Path, default=None, help="default: the configured workflows/")
    args = parser.parse_args()
    settings = engine_settings(os.environ)
    directory = args.workflows or settings.workflows_dir
    largest = max(directory.glob("*.bpmn"), key=lambda p: p.stat().st_size)
    decisions = sorted(directory.glob("*.dmn"))
    sources = [Source(p.name, p.read_bytes(), directory) for p in [largest, *decisions]]
    context = _context(settings, directory)
    print(f"{largest.name} ({largest.stat().st_size / 1024:.0f} KB) with {len(decisions)} DMN files, "
          f"{args.runs} runs, load average {os.getloadavg()[0]:.1f}:")
    for label, cold in (("cold (new code)", True), ("warm (page views)", False)):
        times = _measure(sources, context, args.runs, cold)
        print(f"  {label}: median {statistics.median(times):.1f} ms, min {min(times):.1f}, max {max(times):.1f}")


if __name__ == "__main__":
    main()
