"""Employee register benchmark: how long the register's PDF and XLSX take for 100, 1,000 and 10,000 rows.

    python benchmarks/register_render.py                      # 100, 1,000 and 10,000 employees
    python benchmarks/register_render.py --sizes 10000 --repeat 3 --json
    python benchmarks/register_render.py --sizes 100 --compare-weasyprint 1000

Renders in-process with the product's code path (`render_register_pdf`: QR code, requisites,
the wrapped table with its header on every page, totals, signature, «Страница N из M»;
`render_register_xlsx`: openpyxl write-only, every text cell neutralised), one warm-up render
first (fonts registered, modules imported). Employees get varied names, positions and insurers,
about one in twenty uninsured with a reason, as a real list would. Reports wall and CPU time per
size (the best and the median of `--repeat` renders), pages and file sizes.

`--compare-weasyprint N` also renders N rows of the same table through WeasyPrint (the renderer of
every other document) with the simplest table CSS that does the job (fixed layout, no collapsed
borders, one rule per row, header group repeated): the measurement behind laying the register out
with ReportLab (tasks/documents/register_frame.py).

Target: 10,000 rows (PDF + XLSX) in well under 30 s on 2 CPUs - the issue's 60-second budget for a
whole 10,000-employee case also pays for the registry checks. CPU-bound: on a busy machine the
wall time rises while the CPU time stays put, so both are shown, with the load average.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # the repository root, as for benchmarks/engine.py

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from html import escape  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._support import fmt, median, print_table, run_benchmark  # noqa: E402

TARGET_10K_S = 30.0
SURNAMES = ("Иванова", "Ёлкин", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Новиков",
            "Щербакова-Константинопольская", "Ахмедов", "Ким", "Белоусова")
NAMES = ("Пётр", "Алёна", "Дмитрий", "Светлана", "Андрей", "Мария", "Илья", "Екатерина", "Александра")
MIDDLE = ("Сергеевич", "Андреевна", None, "Владимирович", "Игоревна", "Фёдорович")
POSITIONS = ("Бухгалтер", "Инженер", "Ведущий специалист отдела кадров", "Водитель", "Главный инженер проекта",
             "Менеджер по продажам", "Оператор станков с программным управлением")
INSURERS = (("АО «Страховая компания «СОГАЗ-Мед»", "77008"), ("ООО «Капитал МС»", "77011"),
            ("АО «МАКС-М»", "77013"), ("ООО «Страховая медицинская компания РЕСО-Мед»", "50004"))
REASONS = ("Полис не найден", "Срок действия полиса истёк", "Полис аннулирован")


def employees(count: int) -> list[Any]:
    from stdnum import luhn

    from tasks.documents.register import RegisterRow

    rows = []
    for i in range(count):
        insured = i % 20 != 7
        insurer = INSURERS[i % len(INSURERS)] if insured else (None, None)
        body = f"{460000000000000 + i * 7919:015d}"
        rows.append(RegisterRow(
            last_name=SURNAMES[i % len(SURNAMES)], first_name=NAMES[(i // 3) % len(NAMES)],
            middle_name=MIDDLE[i % len(MIDDLE)], birth_date=date(1960, 1, 1) + timedelta(days=(i * 97) % 16000),
            position=POSITIONS[(i // 2) % len(POSITIONS)], enp=body + luhn.calc_check_digit(body),
            insurer_name=insurer[0], insurer_code=insurer[1], status="insured" if insured else "not_insured",
            reason=None if insured else REASONS[i % len(REASONS)],
        ))
    return rows


def register_data(config: Any, rows: list[Any]) -> Any:
    from tasks.documents.register import RegisterData, register_verify_url

    number = "2026-000123-1"
    return RegisterData(
        number=number, issued_at=datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
        organization={"name": "Общество с ограниченной ответственностью «Ромашка»", "inn": "7707083893",
                      "kpp": "773601001", "ogrn": "1027700132195",
                      "legal_address": "119021, г. Москва, ул. Льва Толстого, д. 16"},
        period_from=date(2026, 1, 1), period_to=date(2026, 12, 31), rows=rows,
        verify_url=register_verify_url(config, number),
        issuer="Территориальный фонд обязательного медицинского страхования города Москвы",
        official_name="Иванова Мария Петровна", official_position="Начальник отдела организации ОМС")


def timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def pages_of(pdf: bytes) -> int | None:
    """The page count by poppler's pdfinfo (None without it): PDFs with object streams hide /Count."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        try:
            out = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
    found = re.search(r"^Pages:\s+(\d+)$", out, re.M)
    return int(found.group(1)) if found else None


def measure(config: Any, size: int, repeat: int) -> dict[str, Any]:
    from tasks.documents.register import render_register_pdf
    from tasks.documents.register_xlsx import render_register_xlsx

    data = register_data(config, employees(size))
    pdf_runs = [timed(lambda: render_register_pdf(data, config)) for _ in range(repeat)]
    xlsx_runs = [timed(lambda: render_register_xlsx(data)) for _ in range(repeat)]
    pdf, xlsx = pdf_runs[-1][2], xlsx_runs[-1][2]
    total = [p[0] + x[0] for p, x in zip(pdf_runs, xlsx_runs, strict=True)]
    return {
        "rows": size, "repeat": repeat, "pages": pages_of(pdf), "pdf_bytes": len(pdf), "xlsx_bytes": len(xlsx),
        "pdf_best_s": min(r[0] for r in pdf_runs), "pdf_median_s": median([r[0] for r in pdf_runs]),
        "pdf_cpu_median_s": median([r[1] for r in pdf_runs]),
        "xlsx_best_s": min(r[0] for r in xlsx_runs), "xlsx_median_s": median([r[0] for r in xlsx_runs]),
        "total_median_s": median(total), "ms_per_row": median(total) * 1000 / size,
    }


WEASY_CSS = """
@page { size: A4 landscape; margin: 15mm 12mm 16mm 20mm;
        @bottom-right { content: "Страница " counter(page) " из " counter(pages); font-size: 8pt; } }
table { table-layout: fixed; width: 100%; border-spacing: 0; font-size: 8.5pt; line-height: 1.2; }
thead { display: table-header-group; }
th { text-align: left; border-bottom: 0.6pt solid #000; padding: 1mm; }
td { vertical-align: top; padding: 0.8mm 1mm; border-bottom: 0.3pt solid #999; }
"""


def weasyprint_table(config: Any, size: int) -> dict[str, Any]:
    """The same rows as a plain WeasyPrint table through the product's renderer (its fonts and document.css)."""
    from tasks.documents.formatting import format_date
    from tasks.documents.render import TEMPLATES_DIR, DocumentMetadata, DocumentRenderer

    rows = employees(size)
    body = "".join(
        f"<tr><td>{i}</td><td>{escape(r.full_name)}</td><td>{format_date(r.birth_date)}</td>"
        f"<td>{escape(r.position)}</td><td>{r.enp}</td><td>{escape(r.insurer_text)}</td>"
        f"<td>{escape(r.status_text)}</td></tr>" for i, r in enumerate(rows, start=1))
    head = "".join(f"<th>{h}</th>" for h in ("№", "ФИО", "Дата рождения", "Должность", "ЕНП", "СМО", "Статус"))
    cols = "".join(f'<col style="width:{w}mm">' for w in (11, 52, 19, 40, 31, 60, 52))
    root = Path(tempfile.mkdtemp(prefix="bench-register-weasy-"))
    try:
        work = root / "templates"  # document.css loads its fonts from ../fonts
        work.mkdir()
        shutil.copytree(TEMPLATES_DIR.parent / "fonts", root / "fonts")
        shutil.copy(TEMPLATES_DIR / "document.css", work / "document.css")
        (work / "table.css").write_text(WEASY_CSS)
        (work / "table.html").write_text(
            f"<!DOCTYPE html><html lang=ru><body><table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
            "<tbody>{{ rows|safe }}</tbody></table></body></html>")
        renderer = DocumentRenderer(work)
        meta = DocumentMetadata(title="bench", author="bench")
        renderer.render("table.html", {"rows": "<tr><td>1</td></tr>"}, meta)  # warm-up: fonts, stylesheets
        wall, cpu, pdf = timed(lambda: renderer.render("table.html", {"rows": body}, meta))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"rows": size, "wall_s": wall, "cpu_s": cpu, "pages": pages_of(pdf), "ms_per_row": wall * 1000 / size}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tasks.config import AppConfig
    from tasks.documents.register import render_register_pdf

    data_dir = Path(tempfile.mkdtemp(prefix="bench-register-"))
    try:
        config = AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" * 8,
                                     "PUBLIC_BASE_URL": "https://oms.example.ru"})
        cold_s, _, _ = timed(lambda: render_register_pdf(register_data(config, employees(3)), config))
        results = [measure(config, size, args.repeat) for size in args.sizes]
        weasy = weasyprint_table(config, args.compare_weasyprint) if args.compare_weasyprint else None
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    import reportlab

    ten_k = next((r for r in results if r["rows"] == 10_000), None)
    return {"first_render_s": cold_s, "sizes": results, "weasyprint_table": weasy, "target_10k_s": TARGET_10K_S,
            "meets_target": None if ten_k is None else ten_k["total_median_s"] < TARGET_10K_S,
            "reportlab": reportlab.Version, "cpus": os.cpu_count(), "load_average": os.getloadavg()}


def print_report(r: dict[str, Any]) -> None:
    sizes = r["sizes"]
    rows: list[tuple[str, ...]] = [
        ("employees", *(fmt(s["rows"]) for s in sizes)),
        ("pages", *(fmt(s["pages"]) for s in sizes)),
        ("PDF, best", *(fmt(s["pdf_best_s"], 2, "s") for s in sizes)),
        ("PDF, median", *(fmt(s["pdf_median_s"], 2, "s") for s in sizes)),
        ("PDF, CPU median", *(fmt(s["pdf_cpu_median_s"], 2, "s") for s in sizes)),
        ("XLSX, best", *(fmt(s["xlsx_best_s"], 2, "s") for s in sizes)),
        ("XLSX, median", *(fmt(s["xlsx_median_s"], 2, "s") for s in sizes)),
        ("PDF + XLSX, median", *(fmt(s["total_median_s"], 2, "s") for s in sizes)),
        ("per employee", *(fmt(s["ms_per_row"], 2, "ms") for s in sizes)),
        ("PDF size", *(fmt(s["pdf_bytes"], unit="B") for s in sizes)),
        ("XLSX size", *(fmt(s["xlsx_bytes"], unit="B") for s in sizes)),
    ]
    if r["meets_target"] is not None:
        rows += [("Target",), (f"10,000 rows PDF + XLSX < {r['target_10k_s']:.0f} s",
                               "yes" if r["meets_target"] else "NO")]
    print_table(f"Employee register (ReportLab {r['reportlab']}, {r['cpus']} CPUs, load "
                f"{r['load_average'][0]:.2f}; first render {r['first_render_s']:.2f} s; "
                f"median of {sizes[0]['repeat'] if sizes else 0})", rows)
    w = r["weasyprint_table"]
    if w:
        print(f"\nfor comparison, the same table through WeasyPrint: {w['rows']:,} rows, {w['pages']} pages in "
              f"{w['wall_s']:.2f} s (CPU {w['cpu_s']:.2f} s, {w['ms_per_row']:.1f} ms per row)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000], help="employees per register")
    p.add_argument("--repeat", type=int, default=3, help="renders per size (default 3)")
    p.add_argument("--compare-weasyprint", type=int, default=0, metavar="N",
                   help="also render N rows as a WeasyPrint table (default: off; ~10 s per 1,000 rows)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    if args.repeat < 1 or min(args.sizes) < 1:
        p.error("--repeat and --sizes must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
