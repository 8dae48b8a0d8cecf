"""Impact preview benchmark: a changed decision table replayed over 1,000 and 100,000 decided cases.

    python benchmarks/impact.py                        # fresh PostgreSQL db, 100,000 decided cases
    python benchmarks/impact.py --cases 20000 --runs 3
    python benchmarks/impact.py --json

What it builds: a throw-away database `bench_<random>` migrated and deployed through the CLI (the
product's workflows), then `--cases` decided cases of `certificate_individual`: per case the three step
rows the engine writes around the decision (the business rule task `decide` with its recorded inputs,
rules and outputs; the gateway `gw_verdict`; the element the gateway led to). The recorded passes are
the product's table evaluated by SpiffWorkflow on registry answers covering the whole input domain
(1,296 distinct combinations), spread over the cases; rows are inserted by the server (INSERT ... SELECT).

What it measures: engine.impact.preview of a draft whose table sends fuzzy passport matches (rule 12)
to issue instead of review, over the newest 1,000 and the newest `--cases` cases: `--runs` times each
after one warm-up; the median and the slowest wall time, the median CPU time of the benchmark's own
process (the Python side, apart from the database server), and how many decisions and gateway flows
would change.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402

from benchmarks._support import ROOT, Backend, fmt, install_signal_cleanup, print_table, run_benchmark  # noqa: E402

PROCESS = "certificate_individual"
WORKFLOWS = ROOT / "workflows"
DMN = "certificate_decision.dmn"
RULE_12_CHANGE = ('<outputEntry id="rule_12_outcome"><text>"review"</text>',
                  '<outputEntry id="rule_12_outcome"><text>"issue"</text>')
NEXT_ELEMENT = {"issue": "merge_issue", "review": "operator_review", "reject": "auto_rejection"}
DOMAIN = {"passport": ("valid", "expired", "not_found"), "holder": ("exact", "fuzzy", "mismatch"),
          "snils": ("exact", "fuzzy", "not_found"), "policy": ("active", "expired", "not_found"),
          "lookup": ("snils", "enp"), "covers": (True, False), "policy_holder": ("exact", "none"),
          "document": ("exact", "mismatch")}

INSTANCES_SQL = """
INSERT INTO process_instance (process_id, version_id, business_key, status, completed, state, projection,
                              created_at, updated_at, ended_at)
SELECT %(process)s, %(version)s, 'B' || n, 'ready', true, '', '{}', at, at, at
FROM (SELECT n, now() - n * interval '1 minute' AS at FROM generate_series(1, %(cases)s) AS n) AS g"""
STEPS_SQL = """
INSERT INTO step (instance_id, process_id, element, kind, source, entered_at, ended_at, details)
SELECT i.id, i.process_id, s.element, s.kind, s.source, i.created_at + s.ord * interval '1 second',
       i.created_at + s.ord * interval '1 second', CASE WHEN s.ord = 0 THEN c.details END
FROM process_instance i
JOIN bench_combo c ON c.n = i.id %% %(combos)s
CROSS JOIN LATERAL (VALUES (0, 'decide', 'BusinessRuleTask', 'checks'),
                           (1, 'gw_verdict', 'ExclusiveGateway', 'decide'),
                           (2, c.next_element, 'Task', 'gw_verdict')) AS s(ord, element, kind, source)
WHERE i.process_id = %(process)s"""


def _registry_answers(combo: dict[str, Any]) -> dict[str, Any]:
    """Task data whose registry answers give the combination's input values."""
    return {"passport_check": {"found": combo["passport"] != "not_found", "status": combo["passport"],
                               "holder_match": combo["holder"], "document_match": combo["document"]},
            "snils_check": {"found": combo["snils"] != "not_found", "holder_match": combo["snils"]},
            "policy_check": {"found": combo["policy"] != "not_found", "status": combo["policy"],
                             "lookup": combo["lookup"], "covers_period": combo["covers"],
                             "holder_match": combo["policy_holder"]}}


def recorded_passes() -> list[tuple[dict[str, Any], str]]:
    """(step details as the engine records them, the element the gateway leads to) per input combination,
    decided by SpiffWorkflow with the product's table on full task data."""
    from engine.scripting import ScriptEnvironment
    from engine.specs import RuntimeBpmnParser
    from engine.steps import decision_details

    parser = RuntimeBpmnParser()
    parser.add_bpmn_files([str(WORKFLOWS / "certificate_individual.bpmn"), str(WORKFLOWS / "refusal_chain.bpmn")])
    parser.add_dmn_files([str(WORKFLOWS / DMN)])
    task_spec = parser.get_spec(PROCESS).task_specs["decide"]
    workflow = SimpleNamespace(script_engine=ScriptEnvironment().script_engine(), data_objects={})
    passes = []
    for values in itertools.product(*DOMAIN.values()):
        task = SimpleNamespace(data=_registry_answers(dict(zip(DOMAIN, values, strict=True))), workflow=workflow,
                               task_spec=task_spec, id="bench")
        result = task_spec.dmnEngine.result(task)
        if not result:
            continue
        task.data.update(result)
        passes.append((decision_details(task), NEXT_ELEMENT[result["verdict"]["outcome"]]))
    return passes


def generate(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    dsn = backend.database_url.replace("postgresql+psycopg://", "postgresql://")
    passes = recorded_passes()
    timings: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        version = conn.execute("SELECT id FROM process_version WHERE process_id = %s ORDER BY version DESC LIMIT 1",
                               (PROCESS,)).fetchone()[0]
        conn.execute("CREATE TEMP TABLE bench_combo (n int, details json, next_element text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_combo VALUES (%s, %s, %s)",
                            [(n, json.dumps(details, ensure_ascii=False), nxt)
                             for n, (details, nxt) in enumerate(passes)])
        for name, sql in (("instances", INSTANCES_SQL), ("steps", STEPS_SQL)):
            started = time.perf_counter()
            rows = conn.execute(sql, {"process": PROCESS, "version": version, "cases": args.cases,
                                      "combos": len(passes)}).rowcount
            conn.commit()
            timings[name] = time.perf_counter() - started
            print(f"  {name}: {rows:,} rows in {timings[name]:.1f} s", file=sys.stderr, flush=True)
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE step")
        conn.execute("VACUUM ANALYZE process_instance")
    return {"cases": args.cases, "combinations": len(passes), "seconds": timings}


def measure(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from engine.db import make_engine
    from engine.impact import decision_points, preview
    from engine.scripting import ScriptEnvironment
    from engine.serialization import StateSerializer
    from engine.specs import RuntimeBpmnParser
    from engine.versions import SpecCache

    dmn = (WORKFLOWS / DMN).read_text(encoding="utf-8")
    assert RULE_12_CHANGE[0] in dmn
    parser = RuntimeBpmnParser()
    parser.add_bpmn_files([str(WORKFLOWS / "certificate_individual.bpmn"), str(WORKFLOWS / "refusal_chain.bpmn")])
    parser.add_dmn_str(dmn.replace(*RULE_12_CHANGE).encode("utf-8"), filename=DMN)
    env = ScriptEnvironment()
    script_engine = env.script_engine()
    specs = {PROCESS: [parser.get_spec(PROCESS), *parser.get_subprocess_specs(PROCESS).values()]}
    version_specs = SpecCache(StateSerializer())  # the runtime's cache, as the app passes it
    engine = make_engine(backend.settings().database_url)
    backend.on_close(engine.dispose)
    out: dict[str, Any] = {}
    with Session(engine) as s:
        for limit in sorted({1000, args.cases}):
            times, cpu = [], []
            for run in range(args.runs + 1):
                started, started_cpu = time.perf_counter(), time.process_time()
                points = decision_points(specs, script_engine, env.allowed_names)
                result = preview(s, points, script_engine, env.allowed_names, limit, version_specs)
                s.commit()
                if run:  # the first run warms the caches
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
            decisions = sum(1 for c in result.changed if c.kind == "decision")
            out[f"{limit} cases"] = {"cases": result.cases, "median_s": statistics.median(times), "max_s": max(times),
                                     "median_cpu_s": statistics.median(cpu),
                                     "changed_decisions": decisions, "changed_flows": len(result.changed) - decisions,
                                     "unreplayable": len(result.unreplayable)}
            print(f"  {limit:,} cases: median {out[f'{limit} cases']['median_s']:.3f} s", file=sys.stderr, flush=True)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    report: dict[str, Any] = {"benchmark": "impact", "config": {"cases": args.cases, "runs": args.runs},
                              "host": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "loadavg_start": os.getloadavg()[0]}}
    backend = Backend.create(embedded=False, database_url=None, redis_url=None, label="impact")
    try:
        backend.cli("db", "upgrade")
        subprocess.run([sys.executable, "-m", "backoffice.cli", "workflows", "deploy", str(WORKFLOWS)],
                       env=backend.env(BACKOFFICE_WORKFLOWS_DIR=str(WORKFLOWS), BACKOFFICE_OPERATOR_MODULES=""),
                       cwd=ROOT, check=True, capture_output=True, timeout=600)
        print(f"generating {args.cases:,} decided cases ...", file=sys.stderr, flush=True)
        report["data"] = generate(backend, args)
        print("measuring ...", file=sys.stderr, flush=True)
        report["previews"] = measure(backend, args)
    finally:
        backend.close()
    return report


def print_report(r: dict[str, Any]) -> None:
    data = r["data"]
    rows: list[tuple[str, ...]] = [("Data",), ("decided cases", fmt(data["cases"])),
                                   ("distinct recorded input combinations", fmt(data["combinations"]))]
    rows += [(f"load: {name}", fmt(seconds, 1, "s")) for name, seconds in data["seconds"].items()]
    rows += [("Preview (median / slowest / median CPU of this process; changed decisions, changed flows, "
              "unreplayable)",)]
    for name, p in r["previews"].items():
        rows.append((f"newest {name}", fmt(p["median_s"], 3, "s"), fmt(p["max_s"], 3, "s"),
                     fmt(p["median_cpu_s"], 3, "s"),
                     f"{p['changed_decisions']:,}", f"{p['changed_flows']:,}", f"{p['unreplayable']:,}"))
    print_table(f"Impact preview over {data['cases']:,} decided cases (load average at start "
                f"{r['host']['loadavg_start']:.1f})", rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return run_benchmark(p.parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
