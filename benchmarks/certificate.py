"""Certificate PDF benchmark: how long one «справка» takes to render in a warm worker process.

    python benchmarks/certificate.py                  # 200 certificates after 20 warm-up renders
    python benchmarks/certificate.py -n 500 --json

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
import logging  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from itertools import pairwise  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._support import fmt, median, percentile, print_table, run_benchmark  # noqa: E402

TARGET_MEDIAN_MS = 40.0
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

    data_dir = Path(tempfile.mkdtemp(prefix="bench-certificate-"))
    try:
        config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" * 8,
                                     "PUBLIC_BASE_URL": "https://oms.example.ru"})
        started = time.perf_counter()
        certificate = series(lambda i: render_certificate(certificate_data(i), config), args.n, args.warmup, 0)
        receipt = series(lambda i: render_receipt(receipt_data(i), config), max(1, args.n // 4), args.warmup, 0)
        breakdown = steps(max(1, args.n // 4), lambda i: render_certificate(certificate_data(i), config), 10_000)
        total_s = time.perf_counter() - started
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    import weasyprint

    return {
        "certificate": certificate, "receipt": receipt, "certificate_steps_median_ms": breakdown,
        "target_median_ms": TARGET_MEDIAN_MS, "meets_target": certificate["median_ms"] < TARGET_MEDIAN_MS,
        "weasyprint": weasyprint.__version__, "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "total_s": total_s,
    }


def print_report(r: dict[str, Any]) -> None:
    c, rc, s = r["certificate"], r["receipt"], r["certificate_steps_median_ms"]
    rows: list[tuple[str, ...]] = [
        ("", "certificate", "receipt"),
        ("first (cold) render", fmt(c["first_render_ms"], 0, "ms"), fmt(rc["first_render_ms"], 0, "ms")),
        ("renders measured (after warm-up)", fmt(c["renders"]), fmt(rc["renders"])),
        ("min", fmt(c["min_ms"], 1, "ms"), fmt(rc["min_ms"], 1, "ms")),
        ("median", fmt(c["median_ms"], 1, "ms"), fmt(rc["median_ms"], 1, "ms")),
        ("p95", fmt(c["p95_ms"], 1, "ms"), fmt(rc["p95_ms"], 1, "ms")),
        ("max", fmt(c["max_ms"], 1, "ms"), fmt(rc["max_ms"], 1, "ms")),
        ("CPU time, median", fmt(c["cpu_median_ms"], 1, "ms"), fmt(rc["cpu_median_ms"], 1, "ms")),
        ("PDF size, median", fmt(c["pdf_bytes_median"], unit="B"), fmt(rc["pdf_bytes_median"], unit="B")),
        ("Certificate steps, median each",),
        *[(f"  {name}", fmt(ms, 1, "ms"), "") for name, ms in s.items()],
        ("Target",),
        (f"certificate median < {r['target_median_ms']:.0f} ms", "yes" if r["meets_target"] else "NO", ""),
    ]
    print_table(f"Certificate PDF (WeasyPrint {r['weasyprint']}, {r['cpus']} CPUs, "
                f"load {r['load_average'][0]:.2f})", rows)
    print(f"\ntotal benchmark time: {r['total_s']:.1f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--renders", dest="n", type=int, default=200, help="certificates measured (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="renders before measuring (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    if args.n < 1 or args.warmup < 0:
        p.error("-n must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
