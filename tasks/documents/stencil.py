"""Fast renders of a one-page document: the page laid out once, only the case's values drawn per case.

WeasyPrint spends ~25 ms on a certificate: parsing, cascading, laying out and drawing the whole
page and subsetting its fonts, although from one certificate to the next only a few short values
change (number, dates, name, ЕНП, the verification link and its QR code). A ``Stencil`` is the
template laid out once by WeasyPrint with the values that shape the page (the issuer, the
official, the insurer, ...) and stand-in values for the rest (the *slots*); per case it draws the
slots' text with WeasyPrint's own text code (Pango shaping, the same glyphs and positions as a
full render) into the page's operators where the full render draws it (same reading order),
swaps the QR image and writes the PDF from objects serialised once. The template
stays plain HTML/CSS that a designer edits; the stencil learns where the slots are from two
layouts with different stand-ins, and refuses any template or case it cannot reproduce exactly:

* a slot is text of its own line box (or the last text on a left-aligned one) whose value fits
  on that line: a value that would wrap, or change the width of text in the middle of a line,
  makes ``render`` return ``None`` and the caller renders the case the slow way;
* the two stand-in layouts must differ only in the slots' text and the QR image, so a template
  that prints a value some other way (``{{ c.birth_date.year }}``) never gets a stencil;
* slot text must be plain (no runs of spaces, controls or characters outside the embedded fonts'
  charset, whose glyphs are embedded once per stencil).

WeasyPrint's internals used here (layout boxes, ``draw_text``, ``generate_pdf``) are those of the
pinned WeasyPrint 70; the equality tests in tests/test_certificate_stencil.py fail if they change.
"""

from __future__ import annotations

import io
import re
import sys
import zlib
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydyf
from fontTools.ttLib import TTFont
from PIL import Image
from weasyprint import DEFAULT_OPTIONS, Document
from weasyprint.draw.text import draw_text
from weasyprint.formatting_structure import boxes
from weasyprint.pdf import generate_pdf
from weasyprint.pdf.stream import Stream
from weasyprint.text.line_break import split_first_line

# Characters whose glyphs every slot font embeds: what names, numbers, dates and links are made of.
# Each embedded glyph adds to every PDF; a value with another character is rendered in full.
CHARSET = "".join([chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0x0410, 0x0450)]
                  + list("ЁёІіЇїЄєЎў\u00a0«»—–№…’“”„"))
_PLAIN = re.compile(r"^[^ ]+(?: [^ ]+)*$")  # no leading, trailing or repeated spaces (CHARSET has no tabs)
_FONT_SWITCH = re.compile(rb"/(\w+) [-\d.]+ Tf")
_GLYPHS = re.compile(rb"<([0-9a-f]+)>")
SCALE = 0.75  # PDF points per CSS pixel, as WeasyPrint draws pages


class NotStencilable(ValueError):
    """The template prints a per-case value in a way a stencil cannot reproduce exactly."""


@dataclass
class _Slot:
    box: Any  # the stand-in TextBox: style, position, baseline
    parts: tuple[str | int, ...]  # literal text and indexes of slot values
    width: float
    align: str  # "keep": same width only; "left" | "center" | "right": may change width
    room: float = 0.0  # the widest text the slot's line holds
    font: str = ""  # resource name of the slot's font
    drawn: bytes = b""  # the stand-in's text operators, as the page has them

    def text(self, values: Sequence[str]) -> str:
        return "".join(values[p] if isinstance(p, int) else p for p in self.parts)


class Stencil:
    """One template laid out once; ``render`` draws a case's slot values and image onto it.

    Built from two layouts of the same template with different stand-in values (``values_a`` /
    ``values_b``: the strings the template prints for each slot, in the same order); document A is
    consumed (its slots are cut out and its static part written). ``has_image``: the page's one
    image is per case (the QR code) and is replaced on every render.
    """

    def __init__(self, document_a: Document, document_b: Document, values_a: Sequence[str],
                 values_b: Sequence[str], has_image: bool) -> None:
        page_a, page_b = _single_page(document_a), _single_page(document_b)
        self._slots = _find_slots(page_a, page_b, values_a, values_b)
        self._fonts = document_a.fonts
        self._document = document_a
        self._covered: dict[str, set[int]] = {}
        self._charset: dict[str, frozenset[str]] = {}
        scratch = self._new_stream()
        for slot in self._slots:
            slot.font = self._embed_charset(scratch, slot.box)
        pdf = generate_pdf(document_a, None, 1, **DEFAULT_OPTIONS)
        # The glyphs embedded (with a width and a Unicode mapping) in each font of the page.
        for font in self._fonts.values():
            self._covered.setdefault(font.hash, set()).update(set(font.widths) & set(font.to_unicode))
        self._assemble(pdf, has_image)

    # ------------------------------------------------------------------ per case
    def render(self, values: Sequence[str], image: Image.Image | None, info: Mapping[str, str]) -> bytes | None:
        """The PDF with ``values`` in the slots, or None when a value does not fit the stencil."""
        drawn: list[bytes] = []
        for slot in self._slots:
            text = slot.text(values)
            if not _PLAIN.match(text) or not set(text) <= self._charset[slot.font]:
                return None
            box = slot.box
            if text == box.text:
                drawn.append(slot.drawn)
                continue
            new = _relaid(box, text, box.position_x)
            if slot.align == "keep":
                if abs(new.width - slot.width) > 1e-3:
                    return None
            elif new.width > slot.room - 1e-3:
                return None
            elif slot.align == "center":
                new.position_x = box.position_x + (slot.width - new.width) / 2
            elif slot.align == "right":
                new.position_x = box.position_x + slot.width - new.width
            drawn.append(self._text_operators(new))
        if not self._glyphs_covered(b"\n".join(drawn)):
            return None
        content = [self._static[0]]
        for operators, static in zip(drawn, self._static[1:], strict=True):
            content += [operators, static]
        return self._write(b"\n".join(content), image, info)

    def _text_operators(self, box: Any) -> bytes:
        """The operators that place and show ``box``'s text (its colour is the page's at that point)."""
        stream = self._new_stream()
        draw_text(stream, box, 0, "clip", "none")
        lines = [pydyf_bytes(item) for item in stream.stream]
        start = next(i for i, line in enumerate(lines) if line.endswith(b" Tm"))
        end = max(i for i, line in enumerate(lines) if line.endswith(b" TJ"))
        return b"\n".join(lines[start:end + 1])

    def _glyphs_covered(self, content: bytes) -> bool:
        """Whether every glyph the slots drew is embedded (shaping may pick one the charset did not)."""
        parts = _FONT_SWITCH.split(content)  # text, font, text, font, text...
        for font, text in zip(parts[1::2], parts[2::2], strict=True):
            glyphs = array("H", bytes.fromhex(b"".join(_GLYPHS.findall(text)).decode()))
            if sys.byteorder == "little":
                glyphs.byteswap()
            if not set(glyphs) <= self._covered.get(font.decode(), set()):
                return False
        return True

    def _write(self, content: bytes, image: Image.Image | None, info: Mapping[str, str]) -> bytes:
        out = bytearray(self._head)
        offsets = dict(self._offsets)

        def add(number: int, body: bytes) -> None:
            offsets[number] = len(out)
            out.extend(b"%d 0 obj\n" % number)
            out.extend(body)
            out.extend(b"\nendobj\n")

        if self._image_number is not None:
            add(self._image_number, _image_object(image) if image is not None else self._image_body)
        compressed = zlib.compress(content, 6)
        add(self._content_number, b"<</Filter /FlateDecode /Length %d>>\nstream\n" % len(compressed)
            + compressed + b"\nendstream")
        info_number = self._info_number
        add(info_number, pydyf.Dictionary({key: pydyf.String(value) for key, value in info.items()}).data)
        xref = len(out)
        size = info_number + 1
        out.extend(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        out.extend(b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size)))
        out.extend(b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R>>\nstartxref\n%d\n%%%%EOF\n"
                   % (size, self._root, info_number, xref))
        return bytes(out)

    # ------------------------------------------------------------------ build
    def _new_stream(self) -> Stream:
        document = self._document
        resources = pydyf.Dictionary({"ExtGState": pydyf.Dictionary(), "XObject": pydyf.Dictionary(),
                                      "Pattern": pydyf.Dictionary(), "Shading": pydyf.Dictionary()})
        return Stream(document.fonts, (0, 0, 0, 0), resources, {}, None, document.color_profiles,
                      document.output_intent, compress=False)

    def _embed_charset(self, stream: Stream, box: Any) -> str:
        """Draw the charset in ``box``'s font (off the record), so its glyphs are embedded; the font's hash."""
        draw_text(stream, _relaid(box, "x", 0), 0, "clip", "none")
        font_hash = _current_font(stream)
        if font_hash not in self._charset:
            font = next(f for f in self._fonts.values() if f.hash == font_hash)
            cmap = TTFont(io.BytesIO(font.file_content), fontNumber=font.index, lazy=True).getBestCmap()
            charset = frozenset(ch for ch in CHARSET if ord(ch) in cmap)
            # One word per character, so no ligature stands in for its letters.
            draw_text(stream, _relaid(box, " ".join(sorted(charset - {" "})), 0), 0, "clip", "none")
            self._charset[font_hash] = charset
        return font_hash

    def _assemble(self, pdf: pydyf.PDF, has_image: bool) -> None:
        """Serialise every object of the static page once; per case only content, image and info are new."""
        objects = pdf.objects[1:]  # 0 is the free entry
        page = next(o for o in objects if isinstance(o, pydyf.Dictionary) and o.get("Type") == "/Page")
        images = [o for o in objects if isinstance(o, pydyf.Stream) and o.extra.get("Subtype") == "/Image"]
        self._image_number = None
        self._image_body = b""
        if has_image:
            if len(images) != 1:
                raise NotStencilable("the page must hold exactly one image, the per-case one")
            self._image_number = images[0].number
            self._image_body = images[0].data
        self._content_number = int(pydyf_bytes(page["Contents"]).split()[0])
        content = next(o for o in objects if o.number == self._content_number)
        self._static = self._cut_slots([pydyf_bytes(item) for item in content.stream])
        head = bytearray(b"%PDF-1.7\n%\xf0\x9f\x96\xa4\n")
        offsets = []
        for obj in objects:
            if obj.number in (self._image_number, self._content_number):
                continue
            offsets.append((obj.number, len(head)))
            head.extend(b"%d 0 obj\n" % obj.number + obj.data + b"\nendobj\n")
        self._head = bytes(head)
        self._offsets = tuple(offsets)
        self._root = pdf.catalog.number
        self._info_number = max(o.number for o in objects) + 1

    def _cut_slots(self, lines: list[bytes]) -> list[bytes]:
        """The page's operators split around each slot's text, in drawing order, which is reading order.

        A slot's text is cut from its text matrix (``Tm``, unique: its position) to its ``TJ``; the
        case's text goes back in the same place, so text extraction and screen readers meet it where
        a full render has it. What comes before sets its colour; the font is set again with it.
        """
        cuts = []
        for slot in self._slots:
            slot.drawn = self._text_operators(slot.box)
            matrix = slot.drawn.split(b"\n", 1)[0]
            found = [i for i, line in enumerate(lines) if line == matrix]
            if len(found) != 1:
                raise NotStencilable(f"slot text {slot.box.text!r} not found once on the page")
            start = found[0]
            end = next((i for i in range(start + 1, len(lines)) if lines[i].endswith(b" TJ")), None)
            if end is None or any(line.endswith((b" Tm", b"ET")) for line in lines[start + 1:end]):
                raise NotStencilable(f"slot text {slot.box.text!r} is not one run of glyphs")
            cuts.append((start, end, slot))
        cuts.sort(key=lambda cut: cut[0])
        self._slots = [slot for _, _, slot in cuts]
        static, previous = [], 0
        for start, end, _ in cuts:
            static.append(b"\n".join(lines[previous:start]))
            previous = end + 1
        static.append(b"\n".join(lines[previous:]))
        return static


def pydyf_bytes(item: Any) -> bytes:
    return item if isinstance(item, bytes) else str(item).encode()


def _image_object(image: Image.Image) -> bytes:
    """An 8-bit greyscale image XObject, drawn with hard edges like the template's pixelated <img>."""
    if image.mode != "L":
        raise ValueError("the per-case image must be 8-bit greyscale")
    data = zlib.compress(image.tobytes(), 1)
    return (b"<</Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Interpolate false /Filter /FlateDecode /Length %d>>\nstream\n"
            % (image.width, image.height, len(data)) + data + b"\nendstream")


def _single_page(document: Document) -> Any:
    if len(document.pages) != 1:
        raise NotStencilable("a stencil holds one page")
    return document.pages[0]._page_box


def _text_boxes(box: Any) -> list[Any]:
    return [b for b in box.descendants() if isinstance(b, boxes.TextBox)]


def _line_of(page: Any, target: Any) -> tuple[Any, list[Any]]:
    """The line box holding ``target`` and the chain of boxes from the line down to it."""
    for line in (b for b in page.descendants() if isinstance(b, boxes.LineBox)):
        chain = _chain(line, target)
        if chain:
            return line, chain
    raise NotStencilable("a slot outside a line box")


def _chain(parent: Any, target: Any) -> list[Any] | None:
    for child in getattr(parent, "children", ()):
        if child is target:
            return [parent, child]
        below = _chain(child, target)
        if below:
            return [parent, *below]
    return None


def _find_slots(page_a: Any, page_b: Any, values_a: Sequence[str], values_b: Sequence[str]) -> list[_Slot]:
    texts_a, texts_b = _text_boxes(page_a), _text_boxes(page_b)
    if len(texts_a) != len(texts_b):
        raise NotStencilable("the stand-in values change the number of text boxes (a value wraps?)")
    order = sorted(range(len(values_a)), key=lambda i: -len(values_a[i]))
    slots = []
    for a, b in zip(texts_a, texts_b, strict=True):
        parts = _parts(a.text, values_a, order)
        if parts is None:
            if a.text != b.text or abs(a.position_x - b.position_x) > 1e-6 or abs(a.position_y - b.position_y) > 1e-6:
                raise NotStencilable(f"text {a.text!r} changes with the case but holds no slot value")
            continue
        slot_b = "".join(values_b[p] if isinstance(p, int) else p for p in parts)
        if slot_b != b.text:
            raise NotStencilable(f"slot text {a.text!r} does not follow its values")
        slots.append(_slot(page_a, a, parts))
    return slots


def _parts(text: str, values: Sequence[str], order: Sequence[int]) -> tuple[str | int, ...] | None:
    pieces: list[str | int] = [text]
    for i in order:
        value = values[i]
        if not value:
            continue
        out: list[str | int] = []
        for piece in pieces:
            if isinstance(piece, int):
                out.append(piece)
                continue
            chunks = piece.split(value)
            for j, chunk in enumerate(chunks):
                if j:
                    out.append(i)
                if chunk:
                    out.append(chunk)
        pieces = out
    if all(isinstance(p, str) for p in pieces):
        return None
    return tuple(pieces)


def _slot(page: Any, box: Any, parts: tuple[str | int, ...]) -> _Slot:
    """How a slot may change: same width anywhere, any width that fits where its line allows it."""
    line, chain = _line_of(page, box)
    for inline in chain[1:-1]:
        style = inline.style
        borders = any(style[f"border_{side}_width"] for side in ("top", "right", "bottom", "left"))
        if (style["background_color"].alpha or borders or inline.padding_left or inline.padding_right
                or inline.margin_left or inline.margin_right):
            raise NotStencilable("a slot inside a decorated inline box")
    block = _parent_of(page, line)
    lines = [child for child in block.children if isinstance(child, boxes.LineBox)]
    leaves = [b for b in line.descendants() if isinstance(b, (boxes.TextBox, boxes.InlineReplacedBox))]
    align = line.style["text_align_all"] if line.style["text_align_last"] == "auto" else line.style["text_align_last"]
    align = {"start": "left", "end": "right", "justify": "keep"}.get(align, align)
    left, right = _edges(page, block, line)
    if len(lines) == 1 and leaves == [box] and align in ("left", "center", "right"):
        return _Slot(box, parts, box.width, align, room=right - left)
    if lines[-1] is line and leaves[-1] is box and align == "left":
        return _Slot(box, parts, box.width, "left", room=right - box.position_x)
    return _Slot(box, parts, box.width, "keep")


def _parent_of(page: Any, target: Any) -> Any:
    chain = _chain(page, target)
    if not chain:
        raise NotStencilable("a box outside the page")
    return chain[-2]


def _edges(page: Any, block: Any, line: Any) -> tuple[float, float]:
    """Left and right end of the room a line of ``block`` has, floats beside it taken off."""
    left = block.content_box_x()
    right = left + block.width
    top, bottom = line.position_y, line.position_y + line.height
    for box in page.descendants():
        if not box.is_floated() or box.position_y >= bottom or box.position_y + box.margin_height() <= top:
            continue
        start, end = box.position_x, box.position_x + box.margin_width()
        if end <= left or start >= right:
            continue
        if box.style["float"] == "right":
            right = min(right, start)
        else:
            left = max(left, end)
    return left, right


def _relaid(box: Any, text: str, x: float) -> Any:
    layout, _, _, width, _, _ = split_first_line(text, box.style, None, None, 0)
    new = box.copy_with_text(text)
    new.pango_layout = layout
    new.width = width
    new.position_x = x
    return new


def _current_font(stream: Stream) -> str:
    """The resource name of the font the stream's last text used."""
    font = stream._current_font or stream._old_font
    if font is None:
        raise NotStencilable("a slot's text drew no glyphs")
    return font[0]
