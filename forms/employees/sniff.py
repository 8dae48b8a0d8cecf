"""What an uploaded file really is, decided from its bytes before any parser sees it.

The name only says what the user meant: a PDF or a program renamed to .csv, an XLSX named .csv, a
binary file with NUL bytes — all are refused as `invalid_format` (415). An XLSX must be a zip
holding `[Content_Types].xml` and `xl/workbook.xml`; a zip whose declared uncompressed sizes or
compression ratio are out of bounds is refused before openpyxl opens it (Python's zipfile never
yields more than the declared size of a member, so the declared sizes are a real bound).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from .errors import EmployeeFileError
from .limits import (
    MAX_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_UNPACKED_BYTES,
    MAX_ZIP_ENTRIES,
    RATIO_CHECK_FROM_BYTES,
    size_label,
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx
# A few common things people upload by mistake, named for the message.
_KNOWN_BINARIES = (
    (b"%PDF", "документ PDF"),
    (b"MZ", "исполняемый файл"),
    (b"\x7fELF", "исполняемый файл"),
    (b"\x89PNG", "изображение PNG"),
    (b"\xff\xd8\xff", "изображение JPEG"),
    (b"GIF8", "изображение GIF"),
    (b"Rar!", "архив RAR"),
    (b"7z\xbc\xaf", "архив 7z"),
    (b"\x1f\x8b", "архив gzip"),
)
NOT_CSV_OR_XLSX = "Файл не является CSV или XLSX"
OLE_MESSAGE = ("Файл в старом формате XLS или защищён паролем: сохраните его в Excel как «Книга Excel (*.xlsx)» "
               "без пароля или как CSV")


def detect_kind(data: bytes, filename: str) -> str:
    """«csv» or «xlsx» — what the bytes are, which must also be what the name says."""
    if len(data) > MAX_BYTES:
        raise EmployeeFileError("too_large", f"Превышен размер файла: не более {size_label(MAX_BYTES)}")
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise EmployeeFileError("empty", "Файл пустой")
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".xls" or data.startswith(_OLE_MAGIC):
        raise EmployeeFileError("invalid_format", OLE_MESSAGE)
    if suffix not in (".csv", ".xlsx"):
        raise EmployeeFileError("invalid_format", f"{NOT_CSV_OR_XLSX}: загрузите файл с расширением .csv или .xlsx")
    if suffix == ".xlsx":
        check_xlsx_container(data)
        return "xlsx"
    check_csv_bytes(data)
    return "csv"


def _binary_name(data: bytes) -> str | None:
    for magic, name in _KNOWN_BINARIES:
        if data.startswith(magic):
            return name
    return None


def check_csv_bytes(data: bytes) -> None:
    """A CSV is text: no zip, no known binary signature, no NUL bytes."""
    if data.startswith(_ZIP_MAGIC):
        raise EmployeeFileError(
            "invalid_format", "Файл назван .csv, но это архив (возможно, книга XLSX): переименуйте его в .xlsx")
    binary = _binary_name(data)
    if binary:
        raise EmployeeFileError("invalid_format", f"{NOT_CSV_OR_XLSX}: это {binary}")
    if b"\x00" in data:
        raise EmployeeFileError("invalid_format", f"{NOT_CSV_OR_XLSX}: файл двоичный, а не текстовый")


def check_xlsx_container(data: bytes) -> None:
    """An XLSX is a zip with the workbook parts, of bounded unpacked size; refuse anything else."""
    if not data.startswith(_ZIP_MAGIC):
        binary = _binary_name(data)
        detail = f"это {binary}" if binary else "файл не является книгой Excel"
        raise EmployeeFileError("invalid_format", f"{NOT_CSV_OR_XLSX}: {detail}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise broken_xlsx() from exc
    _check_zip_bounds(infos)
    _check_xlsx_parts({info.filename for info in infos})


def _check_zip_bounds(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ZIP_ENTRIES:
        raise EmployeeFileError("too_large", "Файл XLSX содержит слишком много частей")
    if any(info.flag_bits & 0x1 for info in infos):
        raise EmployeeFileError("invalid_format", OLE_MESSAGE)
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise EmployeeFileError(
            "too_large", f"Файл XLSX после распаковки больше {size_label(MAX_UNPACKED_BYTES)}: так не бывает "
                         "у списка сотрудников, файл отклонён")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_CHECK_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise EmployeeFileError(
                "too_large", "Файл XLSX сжат подозрительно сильно (похоже на «zip-бомбу»): файл отклонён")


def _check_xlsx_parts(names: set[str]) -> None:
    if "xl/workbook.xml" in names and "[Content_Types].xml" in names:
        return
    if any(name.startswith("xl/") for name in names):
        raise broken_xlsx()
    raise EmployeeFileError("invalid_format", f"{NOT_CSV_OR_XLSX}: это архив, но не книга Excel")


def broken_xlsx() -> EmployeeFileError:
    return EmployeeFileError(
        "broken_file", "Файл XLSX повреждён или загружен не полностью: откройте его в Excel, сохраните заново "
                       "и загрузите ещё раз")
