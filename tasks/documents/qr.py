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
fold. The mask is the one segno picks by the standard's penalty rules (what makes a code easy to
read from a poor copy), but scored here (``qr_matrix``) on whole rows at once: segno's own
module-by-module scoring of the eight masks took ~8 ms, a third of a certificate's fast render.
tests/test_qr.py checks that the result is segno's symbol, module for module.
"""

from __future__ import annotations

import base64
import functools
import io

from PIL import Image
from segno import encoder

PIXELS_PER_MODULE = 4
QUIET_ZONE = 4  # modules of white around the code, as the QR standard requires
_DARK, _LIGHT = 0, 255


def qr_png_data_uri(data: str, *, error: str = "m") -> str:
    """A ``data:image/png`` URI of ``data`` as a QR code (never a Micro QR: phones do not read those).

    The quiet zone is part of the image, so no page layout can crowd it out.
    """
    image = qr_image(data, error=error)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def qr_image(data: str, *, error: str = "m") -> Image.Image:
    """The QR code as an 8-bit greyscale image, ``PIXELS_PER_MODULE`` pixels a module, quiet zone included."""
    matrix = qr_matrix(data, error=error)
    size = len(matrix) + 2 * QUIET_ZONE
    light = bytes([_LIGHT]) * QUIET_ZONE
    blank = bytes([_LIGHT]) * size
    table = bytes([_LIGHT, _DARK]) + bytes(254)
    rows = [blank] * QUIET_ZONE + [light + bytes(row).translate(table) + light for row in matrix] + [blank] * QUIET_ZONE
    image = Image.frombytes("L", (size, size), b"".join(rows))
    return image.resize((size * PIXELS_PER_MODULE, size * PIXELS_PER_MODULE), Image.Resampling.NEAREST)


def qr_matrix(data: str, *, error: str = "m") -> tuple[bytearray, ...]:
    """The modules (1 dark) of ``segno.make_qr(data, error=error, boost_error=False)``, found faster.

    segno builds the symbol with mask 0 (cheap); the data modules are unmasked from it, each of the
    eight masks is scored with segno's penalty rules on whole rows and columns, and the best one
    (the first of equal scores, as segno picks) gets its format information from segno.
    """
    code = encoder.encode(data, error=error, mask=0, micro=False, boost_error=False)
    if code.version < 1:  # pragma: no cover - micro=False never yields a Micro QR code
        raise ValueError("not a QR code")
    size = len(code.matrix)
    layout = _layout(size)
    data_bits = [(int.from_bytes(row) & layout.region[i]) ^ layout.masks[0][i] for i, row in enumerate(code.matrix)]
    best_score, best_rows = None, None
    best_mask = 0
    for number, mask in enumerate(layout.masks):
        rows = [(layout.fixed[i] | (bits ^ mask[i])).to_bytes(size) for i, bits in enumerate(data_bits)]
        score = _penalty(rows, size)
        if best_score is None or score < best_score:
            best_score, best_rows, best_mask = score, rows, number
    assert best_rows is not None
    matrix = tuple(bytearray(row) for row in best_rows)
    encoder.add_format_info(matrix, code.version, code.error, best_mask)
    encoder.add_version_info(matrix, code.version)
    return matrix


class _Layout:
    """Per symbol size: the function modules as they are while masks are scored, and the masks."""

    def __init__(self, size: int) -> None:
        plan = encoder.make_matrix(size, size)
        encoder.add_finder_patterns(plan, size, size)
        encoder.add_alignment_patterns(plan, size, size)
        region = [bytes(1 if v > 1 else 0 for v in row) for row in plan]
        region[-8] = region[-8][:8] + b"\x00" + region[-8][9:]  # the dark module, as segno marks it
        self.region = [int.from_bytes(reg) for reg in region]
        self.fixed = [int.from_bytes(bytes(0 if r else v for r, v in zip(reg, row, strict=True)))
                      for reg, row in zip(region, plan, strict=True)]
        self.masks = [
            [int.from_bytes(bytes(1 if r and function(i, j) else 0 for j, r in enumerate(reg)))
             for i, reg in enumerate(region)]
            for function in encoder.get_data_mask_functions(False)
        ]


@functools.lru_cache(maxsize=8)
def _layout(size: int) -> _Layout:
    return _Layout(size)


# Lines are scored joined into one buffer. For N3, four light modules between lines are exactly what
# segno assumes beyond a line's ends, and the dark-light-dark pattern cannot span them.
_FINDER_LIKE = bytes((1, 0, 1, 1, 1, 0, 1))
_FINDER_SEPARATOR = bytes(4)


@functools.lru_cache(maxsize=8)
def _masks_of(size: int) -> tuple[int, int]:
    """Per symbol size, over modules held one per byte (0 or 1): every module of the 2 x size lines that
    ``_penalty`` joins with a zero byte between them, and the modules that end a 2 x 2 block (rows and
    columns from the second on)."""
    ones = b"\x01" * size
    modules = int.from_bytes(b"\x00".join([ones] * (2 * size)))
    block_ends = int.from_bytes(bytes(size) + (b"\x00" + ones[1:]) * (size - 1))
    return modules, block_ends


def _penalty(rows: list[bytes], size: int) -> int:
    """segno.encoder.evaluate_mask's score (N1 + N2 + N3 + N4), computed on whole rows and columns.

    N1 and N2 are counted on the lines as one big integer, a module a byte: shifting it by 8 bits moves
    every module onto its neighbour, so one AND finds every run of five at once (a regex over the lines
    took twice as long, and the eight masks are scored for every certificate)."""
    columns = [bytes(column) for column in zip(*rows, strict=True)]
    lines = (*rows, *columns)
    modules, block_ends = _masks_of(size)
    dark = int.from_bytes(b"\x00".join(lines))  # the zero byte between lines ends every run of dark
    n1 = 0
    for same in (dark, modules ^ dark):  # dark runs, then light ones (the separators are neither)
        starts = same & (same >> 8) & (same >> 16) & (same >> 24) & (same >> 32)  # five alike from here
        # A run of 5 + i modules starts five-alike i + 1 times and costs 3 + i: one per start, two per run.
        n1 += starts.bit_count() + 2 * (starts & ~(starts >> 8)).bit_count()
    below = int.from_bytes(b"".join(rows))
    above = below >> (8 * size)  # each row moved onto the next one
    differs = (below ^ above) | (below ^ (below >> 8)) | (above ^ (above >> 8))
    n2 = (block_ends & ~differs).bit_count()
    joined = _FINDER_SEPARATOR + _FINDER_SEPARATOR.join(lines) + _FINDER_SEPARATOR
    n3 = _finder_like(joined)
    dark_modules = sum(row.count(1) for row in rows)
    n4 = 10 * int(abs(float(dark_modules) / (size ** 2) * 100 - 50) / 5)
    return n1 + 3 * n2 + n3 + n4


def _finder_like(buffer: bytes) -> int:
    """N3: 40 per dark-light-dark-dark-dark-light-dark with four light modules on one side, as segno counts."""
    count = 0
    index = buffer.find(_FINDER_LIKE)
    while index != -1:
        offset = index + 7
        if not any(buffer[index - 4:index]) or not any(buffer[offset:offset + 4]):
            count += 40
        else:
            offset = index + 4
        index = buffer.find(_FINDER_LIKE, offset)
    return count
