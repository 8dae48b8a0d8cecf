"""QR codes for documents, as PNG data URIs to put in an <img> of a template.

Why PNG, and why this PNG - each choice was measured on a certificate render (benchmarks/certificate.py):

* PNG rather than SVG: WeasyPrint parses SVG path data in pure Python, and a QR code's ~200-run
  path made a render ~7 ms slower than the same code as an image.
* 8-bit greyscale rather than segno's own 1-bit PNG: WeasyPrint converts 1-bit images to RGB and
  encodes them again on every render (~1.5 ms); an "L" image goes into the PDF as it is.
* 4 pixels per module, with ``image-rendering: pixelated`` in the template (PDF ``/Interpolate
  false``): viewers and printers scale it with hard edges, and a viewer that smooths anyway blurs
  only a quarter of a module.

Error correction level M (15 % of the code may be damaged) is the usual choice for printed
documents: H makes the code denser for a URL of this length, L does not survive a stamp or a
fold. segno picks the mask by the standard's penalty rules (~3 ms of the render, kept: it is what
makes a code easy to read from a poor copy).
"""

from __future__ import annotations

import base64
import io

import segno
from PIL import Image

PIXELS_PER_MODULE = 4
QUIET_ZONE = 4  # modules of white around the code, as the QR standard requires
_DARK, _LIGHT = 0, 255


def qr_png_data_uri(data: str, *, error: str = "m") -> str:
    """A ``data:image/png`` URI of ``data`` as a QR code (never a Micro QR: phones do not read those).

    The quiet zone is part of the image, so no page layout can crowd it out.
    """
    code = segno.make_qr(data, error=error, boost_error=False)
    width, height = code.symbol_size(scale=1, border=QUIET_ZONE)
    pixels = bytes(_DARK if dark else _LIGHT
                   for row in code.matrix_iter(scale=1, border=QUIET_ZONE) for dark in row)
    image = Image.frombytes("L", (width, height), pixels)
    image = image.resize((width * PIXELS_PER_MODULE, height * PIXELS_PER_MODULE), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
