"""Directory benchmark: medical organisation search at 10,000 organisations.

    python benchmarks/directory.py                      # fresh PostgreSQL db, 10,000 organisations, 300 searches
    python benchmarks/directory.py --organizations 2000 --samples 100 --embedded   # SQLite fallback
    python benchmarks/directory.py --json

What it builds: a throw-away database migrated through the CLI (on PostgreSQL: the pg_trgm index of
migration 0024), a registry service (`backoffice.cli registry`, a real HTTP process) serving the demo dataset with
`--organizations` generated medical organisations (backoffice/registry/medical_demo.py), and the directory filled
by the same refresh the scheduler runs (its time is reported too).

What it measures, p50 / p95 / max over `--samples` searches of a fixed mix (names with one typo, ё
spelled е, whole ИНН and ОГРН, an ИНН's first digits, region / programme / specialty filters alone and
with a name), each a different query:

* `search()` of tasks/directory/search.py on a session of its own: what the page and the API run;
* GET /api/v1/medical-organizations through the app in this process (routing, the refresh date, JSON).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from benchmarks._support import (  # noqa: E402
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    median,
    percentile,
    print_table,
    run_benchmark,
)


def _typo(word: str, rng: random.Random) -> str:
    """The word with one letter replaced by its neighbour in the alphabet (a slip of the finger)."""
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + chr(ord(word[i]) + 1) + word[i + 1:]


def queries(orgs: list[dict[str, Any]], count: int, seed: int = 7) -> list[dict[str, str]]:
    """`count` search parameter sets, a fixed mix of the ways people look an organisation up."""
    rng = random.Random(seed)
    regions = sorted({o["region"] for o in orgs})
    programs = sorted({p for o in orgs for p in o["programs"]})
    specialties = sorted({s for o in orgs for s in o["specialties"]})
    makers: list[Callable[[], dict[str, str]]] = [
        lambda: {"q": _typo(rng.choice([w for w in rng.choice(orgs)["name"].replace("«", " ").replace("»", " ")
                                        .split() if len(w) >= 6]).lower(), rng)},
        lambda: {"q": "елочка"},
        lambda: {"q": f"поликлиника {rng.randint(1, 400)}"},
        lambda: {"q": rng.choice(orgs)["inn"]},
        lambda: {"q": rng.choice(orgs)["ogrn"]},
        lambda: {"q": rng.choice(orgs)["inn"][:6]},
        lambda: {"region": rng.choice(regions)},
        lambda: {"program": rng.choice(programs), "specialty": rng.choice(specialties)},
        lambda: {"q": _typo("больница", rng), "region": rng.choice(regions)},
        lambda: {"region": rng.choice(regions), "page": str(rng.randint(2, 5))},
    ]
    return [makers[i % len(makers)]() for i in range(count)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    with backend_from_args(args, "directory") as backend:
        backend.cli("db", "upgrade")
        backend.use_in_process()
        from backoffice.registry.dataset import BUNDLED_DATA
        from backoffice.registry.medical_demo import generate

        data = json.loads(BUNDLED_DATA.read_text(encoding="utf-8"))
        orgs = generate(args.organizations, seed=args.seed)
        data["medical_organizations"] = orgs
        dataset = backend.data_dir / "registry.json"
        dataset.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        from tests.support.registry import free_port

        port = free_port()
        registry = backend.spawn("registry", ["-m", "backoffice.cli", "registry", "--port", str(port)],
                                 REGISTRY_DATA=str(dataset))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if registry.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the registry service did not start:\n{backend.log_tail()}")
            time.sleep(0.1)
        return measure(backend, url, orgs, args)


def measure(backend: Any, registry_url: str, orgs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    from engine.db import Database
    from tasks.config import AppConfig
    from tasks.directory.refresh import refresh_directory
    from tasks.directory.search import Filters, search
    from tasks.registries.client import ClientSettings, RegistryClient
    from web.app import create_app

    database = Database.from_url(backend.settings().database_url)
    backend.on_close(database.engine.dispose)
    client = RegistryClient(registry_url, ClientSettings(read_timeout=120))
    started = time.perf_counter()
    with database.session() as session:
        refresh = refresh_directory(session, client)
    refresh_s = time.perf_counter() - started
    client.close()
    if not refresh.succeeded:
        raise RuntimeError(f"refresh failed: {refresh.error}")

    samples = queries(orgs, args.samples, args.seed)
    db_ms: list[float] = []
    found: list[int] = []
    for params in samples:
        filters = Filters(q=params.get("q", ""), region=params.get("region"), program=params.get("program"),
                          specialty=params.get("specialty"))
        with database.session() as session:
            t0 = time.perf_counter()
            page = search(session, filters, int(params.get("page", "1")))
            db_ms.append((time.perf_counter() - t0) * 1000)
            found.append(page.total)

    app = create_app(AppConfig.from_env(backend.env(REGISTRY_URL=registry_url)))
    http = app.test_client()
    api_ms: list[float] = []
    for params in samples:
        t0 = time.perf_counter()
        r = http.get("/api/v1/medical-organizations", query_string=params)
        api_ms.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{params}: HTTP {r.status_code} {r.get_data(as_text=True)[:300]}")

    def stats(values: list[float]) -> dict[str, float | None]:
        return {"p50": median(values), "p95": percentile(values, 95), "max": max(values) if values else None}

    return {"backend": backend.describe(), "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "organizations": refresh.organizations, "samples": len(samples), "refresh_s": refresh_s,
            "search_ms": stats(db_ms), "api_ms": stats(api_ms),
            "empty_results": sum(1 for n in found if n == 0), "median_results": median(found)}


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def print_report(report: dict[str, Any]) -> None:
    search, api = report["search_ms"], report["api_ms"]
    print_table("Medical organisations directory: search", [
        ("backend", report["backend"]["database"]),
        ("organisations", fmt(report["organizations"])),
        ("searches", fmt(report["samples"])),
        ("refresh from the registry", fmt(report["refresh_s"], 1, "s")),
        ("search() p50 / p95 / max", f"{fmt(search['p50'], 1)} / {fmt(search['p95'], 1)} / {fmt(search['max'], 1)} ms"),
        ("GET /api/v1/medical-organizations p50 / p95 / max",
         f"{fmt(api['p50'], 1)} / {fmt(api['p95'], 1)} / {fmt(api['max'], 1)} ms"),
        ("searches with no result", fmt(report["empty_results"])),
        ("median results per search", fmt(report["median_results"])),
    ])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--organizations", type=int, default=10_000, help="generated organisations (default 10,000)")
    p.add_argument("--samples", type=int, default=300, help="searches to time (default 300)")
    p.add_argument("--seed", type=int, default=18)
    add_backend_arguments(p)
    args = p.parse_args()
    check_backend_arguments(p, args)
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
