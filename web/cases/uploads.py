"""Uploaded files: checked by their content (never their name or declared type) and size."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import filetype
from PIL import Image, UnidentifiedImageError

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
    if mime not in ALLOWED or not _well_formed(mime, data):
        raise UploadRejected(415, "invalid_format", f"{INVALID_FORMAT}: загрузите PDF, JPG или PNG")
    return CheckedFile(data, mime, ALLOWED[mime], hashlib.sha256(data).hexdigest())


def _well_formed(mime: str, data: bytes) -> bool:
    """A magic number is easy to forge; require the rest of the structure too."""
    if mime == "application/pdf":
        return b"%%EOF" in data[-2048:]
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return False
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return False  # a decompression bomb (a tiny file declaring a huge image) is refused like garbage
    return True
