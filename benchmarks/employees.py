"""Employee-list benchmark: validating a list, and an organisation's whole case from upload to register.

    python benchmarks/employees.py                    # fresh PostgreSQL db + Redis db 14, 2 workers
    python benchmarks/employees.py --embedded         # SQLite + embedded Redis
    python benchmarks/employees.py --sizes 1000 --json

1. Validation (in-process): forms.employees.read_employee_list on a generated list of 1,000 and 10,000
   employees as CSV (UTF-8 with BOM, «;») and as XLSX (openpyxl), median of --repeat runs.
   Target: 10,000 rows validated in < 5 s.
2. End to end (the product as deployed): `backoffice.cli web` (gunicorn), --workers `backoffice.cli worker` processes,
   the scheduler, and the registry service on a generated dataset that insures every employee, with
   REGISTRY_FAULTS="*:latency_ms=20" (every ЕГРЮЛ and ЕРЗЛ request waits 20 ms). For each size an
   organisation applies over the API, uploads its list (POST .../employees: the upload answers once the
   file is validated and stored) and the clock runs until the case is "ready" (the register PDF and XLSX
   rendered and stored, the mail sent). Target: the whole register ready in < 60 s for 10,000 employees.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from benchmarks._support import (  # noqa: E402
    ROOT,
    Backend,
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    print_table,
    run_benchmark,
    wait_until,
)

TARGET_VALIDATION_S = 5.0  # 10,000 rows
TARGET_READY_S = 60.0  # upload -> register ready, 10,000 employees
PASSWORD = "Нагрузочный-тест-2026"  # noqa: S105 - a throw-away account of a throw-away database


# ------------------------------------------------------------------------------- validation
def xlsx_of(rows: list[dict[str, Any]]) -> bytes:
    """The same list as an Excel workbook: real dates, text ЕНП."""
    from openpyxl import Workbook

    from tests.support.employees import HEADERS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Сотрудники")
    sheet.append(list(HEADERS))
    for r in rows:
        sheet.append([r["last_name"], r["first_name"], r["middle_name"], r["birth_date"], r["inn"], r["position"],
                      r["enp"], r["email"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure_validation(sizes: list[int], repeat: int) -> dict[str, Any]:
    from forms.employees import read_employee_list
    from tests.support.employees import employees_csv, generated_people

    result: dict[str, Any] = {}
    for n in sizes:
        people = generated_people(n)
        for kind, data in (("csv", employees_csv(people)), ("xlsx", xlsx_of(people))):
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                checked = read_employee_list(data, f"list.{kind}")
                times.append(time.perf_counter() - started)
            if checked.problems or len(checked.rows) != n:
                raise RuntimeError(f"{kind} {n}: {len(checked.rows)} rows, problems {checked.problems[:3]}")
            result[f"{kind}_{n}"] = {"rows": n, "bytes": len(data), "median_s": statistics.median(times),
                                     "max_s": max(times)}
    return result


# ------------------------------------------------------------------------------- the product
@dataclass
class Product:
    backend: Backend
    url: str
    registry: Any  # tests.support.registry.RegistryService
    smtp: Any  # tests.support.smtp.SmtpServer


def start_product(args: argparse.Namespace, backend: Backend, people: list[dict[str, Any]]) -> Product:
    from tests.support.employees import registry_dataset
    from tests.support.registry import RegistryService, free_port
    from tests.support.smtp import SmtpServer

    data = registry_dataset(backend.data_dir / "registry.json", people)
    registry = RegistryService(data=data, faults=f"*:latency_ms={args.registry_latency_ms}").start()
    backend.on_close(registry.stop)
    smtp = SmtpServer().start()
    backend.on_close(smtp.stop)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"BACKOFFICE_WORKFLOWS_DIR": str(ROOT / "workflows"), "BACKOFFICE_OPERATOR_MODULES": "",
           "REGISTRY_URL": registry.url, "SMTP_URL": smtp.url, "PUBLIC_BASE_URL": url,
           "SECRET_KEY": "employees-benchmark-" * 4, "RATE_LIMITS": "off"}
    backend.cli("db", "upgrade")
    backend.cli("workflows", "deploy", str(ROOT / "workflows"))
    web = backend.spawn("web", ["-m", "backoffice.cli", "web", "--port", str(port), "--threads", "4"], **env)
    for i in range(args.workers):
        backend.spawn(f"worker-{i}", ["-m", "backoffice.cli", "worker", "--name", f"{backend.queue}-{i}"], **env)
    backend.spawn("scheduler", ["-m", "backoffice.cli", "scheduler"], **env)

    def up() -> bool:
        if web.poll() is not None:
            raise RuntimeError(f"the web server exited:\n{backend.log_tail()}")
        try:
            health = httpx.get(f"{url}/api/v1/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        return all(health.get(part) == "ok" for part in ("db", "redis", "workers", "scheduler"))

    wait_until(up, 90, interval=0.3, what="web, workers and scheduler")
    return Product(backend, url, registry, smtp)


def citizen_token(product: Product, client: httpx.Client) -> str:
    from tests.support.employees import head_person
    from tests.support.smtp import activation_code

    email = f"hr-{uuid.uuid4().hex[:8]}@example.ru"
    # Named as the head ЕГРЮЛ gives for ООО «Ромашка», the organisation every case applies for: the
    # head's authority is then confirmed automatically, as for a real head applying.
    body = {"email": email, "password": PASSWORD, "phone": "+79161234567", "birth_date": "1980-05-05",
            **head_person()}
    _expect(client.post("/api/v1/auth/register", json=body), 201)
    code = activation_code(product.smtp.wait_for_mail(email))
    _expect(client.post("/api/v1/auth/activate", json={"email": email, "code": code}), 200)
    return _expect(client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}), 200)["token"]


def _expect(resp: httpx.Response, status: int) -> dict[str, Any]:
    if resp.status_code != status:
        raise RuntimeError(f"{resp.request.method} {resp.request.url.path}: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json()


def one_case(client: httpx.Client, token: str, people: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Apply, upload the list, wait for "ready"; the times of each step."""
    from tests.support.employees import employees_csv, org_body

    headers = {"Authorization": f"Bearer {token}"}
    data = employees_csv(people)
    started = time.perf_counter()
    number = _expect(client.post("/api/v1/applications", json=org_body(), headers=headers), 201)["number"]
    submitted = time.perf_counter()
    answer = _expect(client.post(f"/api/v1/applications/{number}/employees", headers=headers,
                                 files={"file": ("работники.csv", data, "text/csv")}), 200)
    uploaded = time.perf_counter()
    if answer["status"] != "accepted":
        raise RuntimeError(f"{number}: the list was not accepted: {answer['rejected'][:3]}")

    def ready() -> dict[str, Any] | None:
        view = _expect(client.get(f"/api/v1/applications/{number}", headers=headers), 200)
        if view["status"] in ("rejected", "closed"):
            raise RuntimeError(f"{number} ended {view['status']}: {view.get('reasons')}")
        return view if view["status"] == "ready" else None

    wait_until(ready, timeout, interval=0.1, what=f"{number} to be ready")
    done = time.perf_counter()
    pdf = client.get(f"/api/v1/applications/{number}/register.pdf", headers=headers)
    return {"employees": len(people), "number": number, "csv_bytes": len(data), "submit_s": submitted - started,
            "upload_request_s": uploaded - submitted, "upload_to_ready_s": done - submitted,
            "submit_to_ready_s": done - started,
            "register_pdf_bytes": len(pdf.content) if pdf.status_code == 200 else None}


# ------------------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.employees import generated_people

    install_signal_cleanup()
    sizes = sorted(args.sizes)
    report: dict[str, Any] = {
        "benchmark": "employees",
        "config": {"sizes": sizes, "workers": args.workers, "registry_latency_ms": args.registry_latency_ms,
                   "repeat": args.repeat, "batch_size": 500},
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_start": os.getloadavg()[0]},
        "validation": measure_validation(sizes, args.repeat),
    }
    people = generated_people(max(sizes))
    with backend_from_args(args, "employees") as backend:
        report["backend"] = backend.describe()
        try:
            product = start_product(args, backend, people)
            with httpx.Client(base_url=product.url, timeout=300) as client:
                token = citizen_token(product, client)
                report["cases"] = [one_case(client, token, people[:n], args.timeout) for n in sizes]
        except Exception:
            tail = backend.log_tail()
            if tail:
                print(tail, file=sys.stderr)
            raise
    report["targets"] = targets(report)
    return report


def targets(r: dict[str, Any]) -> dict[str, Any]:
    validation = r["validation"]
    biggest = [v for k, v in validation.items() if v["rows"] == 10_000]
    slowest = max((v["median_s"] for v in biggest), default=None)
    case = next((c for c in r.get("cases", []) if c["employees"] == 10_000), None)
    ready = case["upload_to_ready_s"] if case else None
    return {
        "validation_10000": {"target": f"10,000 rows validated < {TARGET_VALIDATION_S:g} s (CSV and XLSX)",
                             "value": slowest, "met": None if slowest is None else slowest < TARGET_VALIDATION_S},
        "ready_10000": {"target": f"upload -> register ready < {TARGET_READY_S:g} s for 10,000 employees",
                        "value": ready, "met": None if ready is None else ready < TARGET_READY_S},
    }


def print_report(r: dict[str, Any]) -> None:
    c, b = r["config"], r["backend"]
    rows: list[tuple[str, ...]] = [
        (f"database {b['database']}; redis {b['redis']}; {c['workers']} worker(s); registries "
         f"+{c['registry_latency_ms']} ms per request; ЕРЗЛ batches of {c['batch_size']}",),
        ("Validation (read_employee_list, in-process, median / max)",),
    ]
    for key, v in r["validation"].items():
        kind = key.split("_")[0].upper()
        rows.append((f"  {kind} {v['rows']:,} rows ({v['bytes'] / 1e6:.1f} MB)",
                     f"{fmt(v['median_s'], 2)} / {fmt(v['max_s'], 2)} s"))
    rows.append(("End to end (over HTTP)", "upload request", "upload -> ready", "submit -> ready"))
    for case in r.get("cases", []):
        rows.append((f"  {case['employees']:,} employees ({case['number']})", fmt(case["upload_request_s"], 2, "s"),
                     fmt(case["upload_to_ready_s"], 1, "s"), fmt(case["submit_to_ready_s"], 1, "s")))
    rows.append(("Targets",))
    for t in r["targets"].values():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        rows.append((f"  {t['target']}", f"{fmt(t['value'], 2, 's')}: {verdict}"))
    title = (f"Employee list benchmark ({b['kind']}, {r['host']['cpus']} CPUs, load avg "
             f"{r['host']['loadavg_start']:.2f} at start)")
    print_table(title, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_backend_arguments(p)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000], help="list sizes (default 1000 10000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--registry-latency-ms", type=int, default=20, help="injected latency per registry request")
    p.add_argument("--repeat", type=int, default=3, help="validation runs per file (median reported)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for a case to be ready")
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
