"""The poster's fonts and text fitting: the bundled Noto Sans CJK SC subset, what it can draw, wrapping.

Text on a poster is user content (titles, nicknames, shop names), so it can hold anything: emoji, control
characters, lone surrogates, scripts the subset lacks. ``drawable`` turns any string into one the font
draws without tofu and Pillow draws without raising; the fitting helpers then never see odd input.
"""

from __future__ import annotations

import enum
import re
import struct
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIR = Path(__file__).with_name("fonts")
ELLIPSIS = "…"
MISSING = "□"  # stands for a letter the font lacks (rare hanzi, hangul): a name keeps its length
# Far more than two poster lines hold; cutting first keeps a megabyte-long title from costing a megabyte of work.
MAX_INPUT_CHARS = 400
_TOKENS = re.compile(r"[0-9A-Za-z]+|.", re.DOTALL)
_SPACES = re.compile(r"\s+")


class Weight(enum.Enum):
    REGULAR = "Regular"
    BOLD = "Bold"


def font_path(weight: Weight) -> Path:
    return FONT_DIR / f"NotoSansCJKsc-{weight.value}-subset.otf"


@lru_cache(maxsize=64)
def font(weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    """One FreeType face per weight and size, kept: opening the 5 MB face is the slow part of drawing text."""
    # BASIC layout: Chinese needs no shaping, and Raqm's presence varies by machine; this keeps metrics identical.
    return ImageFont.truetype(str(font_path(weight)), size, layout_engine=ImageFont.Layout.BASIC)


@cache
def covered() -> frozenset[int]:
    """The code points the bundled fonts map (both weights are cut to the same character set)."""
    return _cmap_code_points(font_path(Weight.REGULAR).read_bytes())


def drawable(text: str) -> str:
    """``text`` as one line the font can draw: whitespace collapsed, invisible and unknown symbols dropped."""
    have = covered()
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text[:MAX_INPUT_CHARS]):
        if ch.isspace():
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            # Controls, zero-width joiners and variation selectors, lone surrogates (a valid ``str`` that
            # Pillow cannot encode), private use, unassigned.
            continue
        if ord(ch) in have:
            out.append(ch)
        elif category[0] in "LN":
            out.append(MISSING)
        # else: a symbol or mark the font lacks (emoji above all): dropped rather than drawn as a box
    return _SPACES.sub(" ", "".join(out)).strip()


def fit(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` cut with an ellipsis so that it is at most ``width`` pixels wide."""
    if face.getlength(text) <= width:
        return text
    cut = _with_ellipsis(text, face, width)
    return cut + ELLIPSIS if cut else ""


def _with_ellipsis(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """The longest prefix that still fits ``width`` with an ellipsis after it (binary search: a 400-character
    shop name is measured 9 times, not 400)."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if face.getlength(text[:mid].rstrip() + ELLIPSIS) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip()


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Greedy line breaking, any character a break point except inside a Latin word or number.

    More text than ``max_lines`` hold ends the last line with an ellipsis.
    """
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        # A word wider than a whole line has to break somewhere: between its letters.
        for piece in [token] if face.getlength(token) <= width else list(token):
            if not line or face.getlength(line + piece) <= width:
                line = (line + piece).lstrip()
                continue
            lines.append(line.rstrip())
            if len(lines) == max_lines:
                return _ellipsize(lines, face, width)
            line = piece.lstrip()
    if line:
        lines.append(line.rstrip())
    return lines


def _ellipsize(lines: list[str], face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines[-1] = _with_ellipsis(lines[-1], face, width) + ELLIPSIS
    return lines


def _cmap_code_points(data: bytes) -> frozenset[int]:
    """Code points mapped by an OpenType font's Unicode cmap (format 12 preferred, else format 4).

    A few lines of ``struct`` instead of a fontTools dependency: Pillow can draw a glyph but not say whether
    the font has one, and an absent glyph would print as an empty box.
    """
    (num_tables,) = struct.unpack_from(">H", data, 4)
    cmap = next(
        (
            offset
            for tag, _, offset, _ in (struct.unpack_from(">4sIII", data, 12 + 16 * i) for i in range(num_tables))
            if tag == b"cmap"
        ),
        None,
    )
    if cmap is None:
        return frozenset()
    (count,) = struct.unpack_from(">H", data, cmap + 2)
    subtables: dict[int, int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        if platform == 0 or (platform == 3 and encoding in {1, 10}):
            (fmt,) = struct.unpack_from(">H", data, cmap + offset)
            subtables.setdefault(fmt, cmap + offset)
    if 12 in subtables:
        return _format12(data, subtables[12])
    if 4 in subtables:
        return _format4(data, subtables[4])
    return frozenset()


def _format12(data: bytes, at: int) -> frozenset[int]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    points: set[int] = set()
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
        points.update(range(start + (glyph == 0), end + 1))  # glyph 0 is .notdef: "mapped" to nothing
    return frozenset(points)


def _format4(data: bytes, at: int) -> frozenset[int]:
    (seg_x2,) = struct.unpack_from(">H", data, at + 6)
    segs = seg_x2 // 2
    ends = struct.unpack_from(f">{segs}H", data, at + 14)
    starts = struct.unpack_from(f">{segs}H", data, at + 16 + seg_x2)
    deltas = struct.unpack_from(f">{segs}h", data, at + 16 + 2 * seg_x2)
    range_at = at + 16 + 3 * seg_x2
    range_offsets = struct.unpack_from(f">{segs}H", data, range_at)
    points: set[int] = set()
    for i in range(segs):
        for code in range(starts[i], ends[i] + 1):
            if code == 0xFFFF:
                continue
            if range_offsets[i] == 0:
                glyph = (code + deltas[i]) & 0xFFFF
            else:
                # The spec's pointer arithmetic: the offset counts from this idRangeOffset entry itself.
                where = range_at + 2 * i + range_offsets[i] + 2 * (code - starts[i])
                (raw,) = struct.unpack_from(">H", data, where)
                glyph = (raw + deltas[i]) & 0xFFFF if raw else 0
            if glyph:
                points.add(code)
    return frozenset(points)
