"""Small real images for upload tests (decodable to the last pixel, as the upload check requires)."""

from __future__ import annotations

import io

from PIL import Image


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()
