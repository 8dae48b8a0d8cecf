"""Employee lists as real files for tests and benchmarks: CSV in the encodings people send, XLSX made
with openpyxl or converted by LibreOffice (soffice, as a person's office suite would save it).

Every generated employee is valid (ЕНП with its Luhn digit, ИНН with its check digits, distinct
people), so a test changes exactly the cell it is about.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from stdnum import luhn
from stdnum.ru import inn as stdnum_inn

HEADERS = ["Фамилия", "Имя", "Отчество", "Дата рождения", "ИНН", "Должность", "Номер полиса ОМС (ЕНП)", "E-mail"]
FIELDS = ["last_name", "first_name", "middle_name", "birth_date", "inn", "position", "enp", "email"]
_SURNAMES = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Лебедев", "Козлов", "Новиков", "Морозов"]
_NAMES = ["Иван", "Пётр", "Алексей", "Сергей", "Дмитрий", "Андрей", "Михаил", "Николай", "Олег", "Юрий"]


def valid_enp(i: int) -> str:
    base = f"{500000000000000 + i:015d}"
    return base + luhn.calc_check_digit(base)


def valid_inn12(i: int) -> str:
    base = f"{7700000000 + i:010d}"
    return base + stdnum_inn.calc_personal_check_digits(base)


def employee(i: int) -> dict[str, object]:
    """Employee number i: all values valid, ФИО + birth date and ЕНП unique per i."""
    return {
        "last_name": _SURNAMES[i % 10],
        "first_name": _NAMES[(i // 10) % 10],
        "middle_name": "Иванович" if i % 3 else "",
        "birth_date": date(1960, 1, 1) + timedelta(days=i),
        "inn": valid_inn12(i) if i % 2 else "",
        "position": "Инженер",
        "enp": valid_enp(i),
        "email": f"employee{i}@example.ru",
    }


def employees(n: int) -> list[dict[str, object]]:
    return [employee(i) for i in range(n)]


def _text(value: object) -> str:
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return "" if value is None else str(value)


def csv_bytes(rows: list[dict], *, headers: list[str] = HEADERS, fields: list[str] = FIELDS, delimiter: str = ";",
              encoding: str = "utf-8", bom: bool = False) -> bytes:
    """A CSV as Excel or a script would write it; dates as ДД.ММ.ГГГГ unless given as text."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(row.get(f)) for f in fields])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], *, headers: list[str] = HEADERS, fields: list[str] = FIELDS,
               start_row: int = 1, write_only: bool = False) -> bytes:
    """An XLSX made with openpyxl; values are written as given (date objects become date cells)."""
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Сотрудники") if write_only else workbook.active
    for _ in range(start_row - 1):
        sheet.append([])
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(f) if row.get(f) != "" else None for f in fields])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def soffice_convert(data: bytes, suffix: str, *, infilter: str | None = None) -> bytes:
    """Convert a .csv or .xlsx with LibreOffice to .xlsx, in a profile of its own (parallel-safe)."""
    profile = Path(tempfile.gettempdir()) / f"lo-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"list{suffix}"
        source.write_bytes(data)
        out_dir = Path(tmp) / "out"
        command = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"]
        if infilter:
            command.append(f"--infilter={infilter}")
        command += ["--convert-to", "xlsx", "--outdir", str(out_dir), str(source)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=180)
            return (out_dir / "list.xlsx").read_bytes()
        finally:
            shutil.rmtree(profile, ignore_errors=True)


# LibreOffice's CSV import: «;», «"», UTF-8 (76), from line 1; column 4 as ДД/ММ/ГГ dates (4), the
# identifier columns as text (2) so that a 16-digit ЕНП keeps its digits.
SOFFICE_CSV_FILTER = "CSV:59,34,76,1,1/2/2/2/3/2/4/4/5/2/6/2/7/2/8/2"
