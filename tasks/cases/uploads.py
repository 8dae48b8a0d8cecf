"""Uploaded files: checked by their content (never their name or declared type) and size.

PDFs are parsed and refused with active content (tasks/cases/pdf_check.py); images are decoded in full,
so a truncated or corrupt picture is refused here rather than shown broken to staff.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import filetype
from PIL import Image, ImageFile, UnidentifiedImageError

from .pdf_check import PdfRefused, check_pdf

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 60_000_000  # a 600 dpi A3 scan; anything larger is not a document photo
MAX_DOCUMENTS = 20  # per application or draft
ALLOWED = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
DOCUMENT_KINDS = {
    "passport_copy": "Копия паспорта",
    "snils_copy": "Копия СНИЛС",
    "policy_copy": "Копия полиса ОМС",
    "power_of_attorney": "Доверенность",  # of an organisation's representative (web.cases.org_apply_pages)
    "other": "Другой документ",
}
TOO_LARGE = "Превышен размер"
INVALID_FORMAT = "Недопустимый формат"


# WeasyPrint, imported by the same processes, sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, under which
# a cut-off file decodes "successfully" (the rest padded grey). The check switches it off while it decodes;
# the lock keeps concurrent checks from restoring it under each other.
_DECODING = threading.Lock()


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    with _DECODING:
        lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


class UploadRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    suffix: str
    sha256: str


def read_limited(stream, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """Read at most limit + 1 bytes: enough to know a file is too large without buffering all of it."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(413, "too_large", f"{TOO_LARGE}: файл больше 5 МБ")
    return data


def check_upload(data: bytes) -> CheckedFile:
    if not data:
        raise UploadRejected(422, "empty_file", "Файл пуст")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(413, "too_large", f"{TOO_LARGE}: файл больше 5 МБ")
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED:
        raise UploadRejected(415, "invalid_format", f"{INVALID_FORMAT}: загрузите PDF, JPG или PNG")
    if mime == "application/pdf":
        try:
            check_pdf(data)
        except PdfRefused as exc:
            raise UploadRejected(415, "invalid_format", f"{INVALID_FORMAT}: {exc}") from exc
    elif not _whole_image(data):
        raise UploadRejected(415, "invalid_format", f"{INVALID_FORMAT}: изображение повреждено или обрезано. "
                                                    "Загрузите PDF, JPG или PNG")
    return CheckedFile(data, mime, ALLOWED[mime], hashlib.sha256(data).hexdigest())


def _whole_image(data: bytes) -> bool:
    """Every pixel decodes: a magic number is easy to forge, and `verify()` alone misses a cut-off file."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return False
            with _strict_decoding():
                image.load()  # decodes all of it: a truncated PNG or JPEG raises here
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return False  # a decompression bomb (a tiny file declaring a huge image) is refused like garbage
    return True
