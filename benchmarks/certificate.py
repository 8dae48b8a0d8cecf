"""Certificate PDF benchmark: how long one «справка» takes to render in a warm worker process.

    python benchmarks/certificate.py                  # 200 certificates after 20 warm-up renders
    python benchmarks/certificate.py -n 500 --json
    python benchmarks/certificate.py --base 709acdb   # A/B against another commit's renderer

A/B (``--base COMMIT``): the base commit is checked out in a temporary git worktree and its
renderer runs in a subprocess (the same .venv, the base's code first on sys.path); this tree's
renderer runs in a second subprocess. Both are warmed up, then render ``--rounds`` batches of
``-n / --rounds`` certificates by turns (the order swapped every round), with a batch of the CPU
floor (benchmarks/floor.py) between them, so a change in the machine's speed or load hits both
alike. Printed: each side's median, min and p95 (wall and CPU), the ratio of the medians, and the
floor, with the load average. Target: new median <= a quarter of the base's.

Renders in-process with the product's code path (`render_certificate`: verification code, QR code,
Jinja2 template, WeasyPrint layout, PDF writing with font subsetting), each certificate with its own
number, name and dates so nothing is accidentally reused between renders. Reports the first (cold)
render, which pays for loading fonts and parsing stylesheets once per process, then min / median /
p95 / max wall time and CPU time per certificate over `-n` renders and the PDF size; the same for
the application receipt; and, to show where the time goes, the median of each step of a
certificate render (our code, then WeasyPrint's steps as it announces them on its
"weasyprint.progress" logger). Target: certificate median < 40 ms on 2 CPUs.

The figures are CPU-bound: on a busy machine the median rises while the minimum stays put, so the
table shows both, with the load average. Nothing is written to disk but a temp data dir for the
config, removed on exit.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # the repository root, as for benchmarks/engine.py

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from itertools import pairwise  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import floor  # noqa: E402
from benchmarks._support import (  # noqa: E402
    ROOT,
    base_checkout,
    fmt,
    git,
    median,
    percentile,
    print_table,
    run_benchmark,
)

TARGET_MEDIAN_MS = 40.0
TARGET_AB_RATIO = 0.25  # issue 19: a certificate in a quarter of the time
CONFIG_ENV = {"SECRET_KEY": "bench-" * 8, "PUBLIC_BASE_URL": "https://oms.example.ru"}
SURNAMES = ("Иванов", "Ёлкин", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков")
NAMES = ("Пётр", "Алексей", "Дмитрий", "Сергей", "Андрей", "Артём", "Илья", "Кирилл")


def certificate_data(i: int) -> Any:
    from tasks.documents import CertificateData

    issued = datetime(2026, 1, 10, 9, 0, tzinfo=UTC) + timedelta(minutes=7 * i)
    return CertificateData(
        number=f"2026-{i:06d}", issued_at=issued,
        last_name=SURNAMES[i % len(SURNAMES)], first_name=NAMES[(i // 8) % len(NAMES)], middle_name="Сергеевич",
        birth_date=date(1950, 1, 1) + timedelta(days=97 * i % 25000), enp=f"{7700000000000000 + i:016d}",
        insurer_name="Акционерное общество «Страховая компания «СОГАЗ-Мед»", insurer_code="77008",
        region="г. Москва", period_from=date(2026, 1, 1), period_to=date(2026, 12, 31),
        policy_valid_from=date(2019, 5, 1), policy_valid_to=None,
        official_name="И. П. Петрова", official_position="Начальник отдела организации ОМС",
        organisation="Территориальный фонд обязательного медицинского страхования города Москвы",
    )


def receipt_data(i: int) -> Any:
    from tasks.documents import AttachedDocument, ReceiptData

    return ReceiptData(
        number=f"З-2026-{i:06d}", submitted_at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC) + timedelta(minutes=i),
        applicant_name=f"{SURNAMES[i % len(SURNAMES)]} {NAMES[i % len(NAMES)]} Сергеевич",
        period_from=date(2026, 1, 1), period_to=date(2026, 12, 31),
        documents=(AttachedDocument("Паспорт гражданина Российской Федерации", f"passport-{i}.pdf", 250_000 + i),
                   AttachedDocument("СНИЛС", f"snils-{i}.jpg", 80_000 + i)),
    )


def timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall ms, CPU ms, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def series(render: Callable[[int], bytes], n: int, warmup: int, offset: int) -> dict[str, Any]:
    cold_ms, _, _ = timed(lambda: render(offset))
    for i in range(warmup):
        render(offset + 1 + i)
    walls, cpus, sizes = [], [], []
    for i in range(n):
        wall, cpu, pdf = timed(lambda i=i: render(offset + 1 + warmup + i))
        walls.append(wall)
        cpus.append(cpu)
        sizes.append(len(pdf))
    return {
        "first_render_ms": cold_ms, "renders": n, "warmup": warmup,
        "min_ms": min(walls), "median_ms": median(walls), "p95_ms": percentile(walls, 95), "max_ms": max(walls),
        "cpu_median_ms": median(cpus), "pdf_bytes_median": int(median(sizes)), "pdf_bytes_max": max(sizes),
    }


# WeasyPrint announces its steps on the "weasyprint.progress" logger; the time from one message to
# the next is the time of that step. The span before the first message is our own code.
STEP_NAMES = {
    "start": "ours: verification code, QR code, template",
    "Step 1": "parse HTML",
    "Step 2": "parse CSS",
    "Step 3": "apply CSS (cascade)",
    "Step 4": "build boxes",
    "Step 5": "lay out the page",
    "Step 6": "draw the page",
    "Step 7": "subset fonts, write the PDF",
}


class _StepClock(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.marks.append((time.perf_counter(), record.getMessage().split(" - ")[0]))


def steps(n: int, render: Callable[[int], bytes], offset: int) -> dict[str, float | None]:
    """Median time of each rendering step over `n` certificates, for attribution (the sum ~ the median)."""
    logger = logging.getLogger("weasyprint.progress")
    clock, level = _StepClock(), logger.level
    logger.addHandler(clock)
    logger.setLevel(logging.INFO)
    spans: dict[str, list[float]] = defaultdict(list)
    try:
        for i in range(n):
            clock.marks.clear()
            started = time.perf_counter()
            render(offset + i)
            marks = [(started, "start"), *clock.marks, (time.perf_counter(), "end")]
            for (at, name), (next_at, _) in pairwise(marks):
                spans[STEP_NAMES.get(name, name)].append((next_at - at) * 1000)
    finally:
        logger.removeHandler(clock)
        logger.setLevel(level)
    return {name: median(values) for name, values in spans.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks.config import AppConfig
    from tasks.documents import render_certificate, render_receipt
    from tasks.documents.certificate import render_certificate_in_full

    if args.base:
        return run_ab(args)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-certificate-"))
    try:
        config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), **CONFIG_ENV})
        started = time.perf_counter()
        certificate = series(lambda i: render_certificate(certificate_data(i), config), args.n, args.warmup, 0)
        full = series(lambda i: render_certificate_in_full(certificate_data(i), config), max(1, args.n // 4),
                      args.warmup, 20_000)
        receipt = series(lambda i: render_receipt(receipt_data(i), config), max(1, args.n // 4), args.warmup, 0)
        breakdown = steps(max(1, args.n // 4), lambda i: render_certificate_in_full(certificate_data(i), config),
                          10_000)
        cpu_floor = floor.measure_cpu(200)
        total_s = time.perf_counter() - started
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    import weasyprint

    return {
        "certificate": certificate, "certificate_in_full": full, "receipt": receipt,
        "certificate_steps_median_ms": breakdown, "cpu_floor_median_ms": cpu_floor.median_ms,
        "target_median_ms": TARGET_MEDIAN_MS, "meets_target": certificate["median_ms"] < TARGET_MEDIAN_MS,
        "weasyprint": weasyprint.__version__, "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "total_s": total_s,
    }


def print_report(r: dict[str, Any]) -> None:
    if "ab" in r:
        print_ab_report(r)
        return
    c, cf, rc, s = r["certificate"], r["certificate_in_full"], r["receipt"], r["certificate_steps_median_ms"]

    def row(label: str, key: str, digits: int = 1, unit: str = "ms") -> tuple[str, ...]:
        return (label, *(fmt(x[key], digits, unit) for x in (c, cf, rc)))

    rows: list[tuple[str, ...]] = [
        ("", "certificate", "in full", "receipt"),
        row("first (cold) render", "first_render_ms", 0),
        ("renders measured (after warm-up)", fmt(c["renders"]), fmt(cf["renders"]), fmt(rc["renders"])),
        row("min", "min_ms"), row("median", "median_ms"), row("p95", "p95_ms"), row("max", "max_ms"),
        row("CPU time, median", "cpu_median_ms"),
        row("PDF size, median", "pdf_bytes_median", 0, "B"),
        ("Full render's steps, median each",),
        *[(f"  {name}", "", fmt(ms, 1, "ms"), "") for name, ms in s.items()],
        ("Floor",),
        ("CPU floor unit (benchmarks/floor.py), median", fmt(r["cpu_floor_median_ms"], 2, "ms"), "", ""),
        ("certificate median in floor units", fmt(c["median_ms"] / r["cpu_floor_median_ms"], 1),
         fmt(cf["median_ms"] / r["cpu_floor_median_ms"], 1), ""),
        ("Target",),
        (f"certificate median < {r['target_median_ms']:.0f} ms", "yes" if r["meets_target"] else "NO", "", ""),
    ]
    print_table(f"Certificate PDF (WeasyPrint {r['weasyprint']}, {r['cpus']} CPUs, "
                f"load {r['load_average'][0]:.2f})", rows)
    print(f"\ntotal benchmark time: {r['total_s']:.1f} s")


# ---------------------------------------------------------------------------------------- A/B
def worker_main(root: str) -> None:
    """One side of the A/B: render batches asked for on stdin with the code under ``root``.

    Protocol, one JSON line each way: ``{"n": N, "offset": K}`` -> ``{"wall": [...], "cpu": [...],
    "bytes": [...]}`` (ms, ms, PDF sizes); EOF ends the worker.
    """
    sys.path.insert(0, root)
    from tasks.config import AppConfig
    from tasks.documents import render_certificate

    if not Path(sys.modules["tasks"].__file__ or "").resolve().is_relative_to(Path(root).resolve()):
        raise SystemExit(f"tasks was not imported from {root}")
    data_dir = Path(tempfile.mkdtemp(prefix="bench-certificate-ab-"))
    try:
        config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), **CONFIG_ENV})
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            ask = json.loads(line)
            walls, cpus, sizes = [], [], []
            for i in range(ask["offset"], ask["offset"] + ask["n"]):
                wall, cpu, pdf = timed(lambda i=i: render_certificate(certificate_data(i), config))
                walls.append(wall)
                cpus.append(cpu)
                sizes.append(len(pdf))
            print(json.dumps({"wall": walls, "cpu": cpus, "bytes": sizes}), flush=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class _Side:
    """A worker subprocess rendering with the code of one checkout."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(root)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(root))
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.sizes: list[int] = []
        if not json.loads(self._readline()).get("ready"):
            raise RuntimeError(f"{name} worker did not start")

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker exited (code {self.proc.poll()})")
        return line

    def batch(self, n: int, offset: int, keep: bool = True) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"n": n, "offset": offset}) + "\n")
        self.proc.stdin.flush()
        result = json.loads(self._readline())
        if keep:
            self.walls += result["wall"]
            self.cpus += result["cpu"]
            self.sizes += result["bytes"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def summary(self) -> dict[str, Any]:
        return {"renders": len(self.walls), "median_ms": median(self.walls), "min_ms": min(self.walls),
                "p95_ms": percentile(self.walls, 95), "cpu_median_ms": median(self.cpus),
                "cpu_min_ms": min(self.cpus), "pdf_bytes_median": int(median(self.sizes) or 0)}


def run_ab(args: argparse.Namespace) -> dict[str, Any]:
    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    sides: list[_Side] = []
    with base_checkout(args.base) as (checkout, base_commit):
        try:
            started = time.perf_counter()
            load_before = os.getloadavg()
            base, new = _Side("base", checkout), _Side("new", ROOT)
            sides = [base, new]
            for side in sides:
                side.batch(args.warmup, 0, keep=False)
            per_round = max(1, args.n // args.rounds)
            floor_samples: list[float] = []
            for round_number in range(args.rounds):
                offset = 1000 + round_number * per_round
                order = sides if round_number % 2 == 0 else sides[::-1]
                for side in order:
                    side.batch(per_round, offset)
                floor_samples += floor.measure_cpu(per_round).samples_ms
            total_s = time.perf_counter() - started
            report_base, report_new = base.summary(), new.summary()
        finally:
            for side in sides:
                side.close()
    import weasyprint

    floor_median = median(floor_samples) or 0.0
    ratio = report_new["median_ms"] / report_base["median_ms"]
    return {
        "ab": True, "base": report_base, "new": report_new, "base_commit": base_commit, "new_commit": head,
        "new_tree_dirty": dirty, "rounds": args.rounds, "per_round": per_round,
        "median_ratio": ratio, "cpu_median_ratio": report_new["cpu_median_ms"] / report_base["cpu_median_ms"],
        "target_ratio": TARGET_AB_RATIO, "meets_target": ratio <= TARGET_AB_RATIO,
        "cpu_floor_median_ms": floor_median, "cpu_floor_min_ms": min(floor_samples),
        "weasyprint": weasyprint.__version__, "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": os.getloadavg(), "total_s": total_s,
    }


def print_ab_report(r: dict[str, Any]) -> None:
    b, n, unit = r["base"], r["new"], r["cpu_floor_median_ms"]

    def row(label: str, key: str, digits: int = 1, suffix: str = "ms") -> tuple[str, ...]:
        return (label, fmt(b[key], digits, suffix), fmt(n[key], digits, suffix), fmt(n[key] / b[key], 3))

    rows: list[tuple[str, ...]] = [
        ("", f"base {r['base_commit'][:8]}", f"new {r['new_commit'][:8]}{'+' if r['new_tree_dirty'] else ''}",
         "new / base"),
        ("renders measured", fmt(b["renders"]), fmt(n["renders"]), ""),
        row("median", "median_ms"), row("min", "min_ms"), row("p95", "p95_ms"),
        row("CPU time, median", "cpu_median_ms"), row("CPU time, min", "cpu_min_ms"),
        row("PDF size, median", "pdf_bytes_median", 0, "B"),
        ("Floor",),
        ("CPU floor unit (benchmarks/floor.py), median / min",
         fmt(unit, 2, "ms"), fmt(r["cpu_floor_min_ms"], 2, "ms"), ""),
        ("median in floor units", fmt(b["median_ms"] / unit, 1), fmt(n["median_ms"] / unit, 1), ""),
        ("Target",),
        (f"new median <= {r['target_ratio']:.2f} x base", "", "yes" if r["meets_target"] else "NO",
         fmt(r["median_ratio"], 3)),
    ]
    load_b, load_a = r["load_average_before"], r["load_average_after"]
    print_table(f"Certificate render A/B (WeasyPrint {r['weasyprint']}, {r['cpus']} CPUs, "
                f"load {load_b[0]:.2f} -> {load_a[0]:.2f}; {r['rounds']} rounds of {r['per_round']} by turns)",
                rows)
    print(f"\ntotal benchmark time: {r['total_s']:.1f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--renders", dest="n", type=int, default=200, help="certificates measured (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="renders before measuring (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--base", metavar="COMMIT", help="A/B: compare with this commit's renderer (git worktree)")
    p.add_argument("--rounds", type=int, default=10, help="A/B: batches each side renders by turns (default 10)")
    p.add_argument("--worker", metavar="ROOT", help=argparse.SUPPRESS)  # one side of the A/B
    args = p.parse_args(argv)
    if args.n < 1 or args.warmup < 0 or args.rounds < 1:
        p.error("-n and --rounds must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
