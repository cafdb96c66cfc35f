"""Share posters: product image, price or group price, the sharer and the code, as a 750×1334 PNG.

750×1334 is the usual WeChat share-poster size (an iPhone screen at 2×). Everything drawn from the spec is
user content, so each piece is fitted, cut or replaced rather than allowed to fail: only a spec that could never
make a useful poster (a negative price, no code image) raises ``ValueError``.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

from liebian.integrations.render.text import Weight, drawable, fit, font, wrap

WIDTH, HEIGHT = 750, 1334
MARGIN = 40
CONTENT_WIDTH = WIDTH - 2 * MARGIN
IMAGE_BOX = (MARGIN, 124, WIDTH - MARGIN, 764)  # left, top, right, bottom: 670×640
# A third of the width, which phones scan off a screen; a small code (a scale-8 version-2 QR is 232 px) is
# pasted pixel for pixel, a larger one (WeChat's mini-program codes are 430 px) shrunk to fit.
CODE_SIZE = 240
CODE_BOX = (WIDTH - MARGIN - CODE_SIZE, HEIGHT - MARGIN - CODE_SIZE)  # left, top
MAX_FEN = 10**13  # the same ceiling as the money kit's: 100 billion yuan
MAX_GROUP_SIZE = 100_000
# Far beyond any product photo; a bound keeps one upload from costing a worker gigabytes and seconds.
MAX_IMAGE_PIXELS = 40_000_000

_ORIENTATION = 0x0112  # the EXIF tag phones use instead of rotating the pixels
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

Colour = tuple[int, int, int]
WHITE: Colour = (255, 255, 255)
RED: Colour = (225, 37, 27)
PALE_RED: Colour = (253, 236, 234)
DARK: Colour = (34, 34, 34)
MID: Colour = (102, 102, 102)
GREY: Colour = (153, 153, 153)
RULE: Colour = (228, 228, 228)
PLACEHOLDER_BG: Colour = (244, 244, 244)
PLACEHOLDER_FG: Colour = (210, 210, 210)
AVATAR_COLOURS: tuple[Colour, ...] = ((242, 114, 82), (76, 163, 221), (104, 185, 124), (240, 169, 64), (149, 117, 205))


@dataclass(frozen=True, kw_only=True)
class PosterSpec:
    shop_name: str
    title: str
    price_fen: int | None  # None: no price row (a share of a shop or a store rather than a product)
    original_price_fen: int | None = None
    group_price_fen: int | None = None  # shown as "拼团价 ¥x", the poster's headline price
    group_size: int | None = None  # shown as "N人团"
    sharer_nickname: str | None = None  # shown as "小明 推荐给你"
    product_image: bytes | None = None  # any image Pillow reads; a placeholder when absent or unreadable
    code_image: bytes  # the QR or mini-program code, required
    caption: str = "长按识别小程序码"

    def __post_init__(self) -> None:
        for name in ("shop_name", "title", "caption"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.sharer_nickname is not None and not isinstance(self.sharer_nickname, str):
            raise ValueError("sharer_nickname must be a string or None")
        for name in ("price_fen", "original_price_fen", "group_price_fen"):
            if getattr(self, name) is not None:
                _check_fen(name, getattr(self, name))
        size = self.group_size
        valid_size = isinstance(size, int) and not isinstance(size, bool) and 2 <= size <= MAX_GROUP_SIZE
        if size is not None and not valid_size:
            raise ValueError(f"group_size must be an integer from 2 to {MAX_GROUP_SIZE}, got {size!r}")
        if self.product_image is not None and not isinstance(self.product_image, bytes | bytearray):
            raise ValueError("product_image must be bytes or None")
        if not isinstance(self.code_image, bytes | bytearray) or not self.code_image:
            raise ValueError("code_image must be non-empty image bytes")


def render(spec: PosterSpec) -> bytes:
    """The poster as PNG bytes. Raises ``ValueError`` only when the code image cannot be read."""
    code = _decode(spec.code_image, (CODE_SIZE, CODE_SIZE))
    if code is None:
        raise ValueError("code_image is not an image Pillow can read")
    canvas = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(canvas)
    _draw_header(draw, spec.shop_name)
    _draw_product(canvas, spec.product_image)
    baseline = _draw_prices(draw, spec, top=IMAGE_BOX[3] + 24)
    _draw_title(draw, spec.title, first_baseline=baseline + 60)
    _draw_footer(canvas, draw, spec, code)
    out = io.BytesIO()
    # Level 3 of 9: a photo poster compresses barely better at 9 and takes several times longer.
    canvas.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def yuan(fen: int) -> str:
    """Integer fen as shown to a shopper: 1290 → "¥12.90"."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def _check_fen(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of fen")
    if not 0 <= value <= MAX_FEN:
        raise ValueError(f"{name} must be from 0 to {MAX_FEN} fen, got {value}")


# ---- images ----


def _decode(data: bytes | bytearray | None, target: tuple[int, int]) -> Image.Image | None:
    """An upright RGB image from any bytes Pillow reads, transparency flattened onto white; None if it can't.

    Big photos are shrunk as early as possible (JPEG while decoding, others right after) to about twice the
    size they are drawn at: later steps then cost milliseconds whatever the upload.
    """
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                return None
            opened.draft("RGB", target)
            orientation = opened.getexif().get(_ORIENTATION, 1)
            factor = min(opened.size) // (2 * max(target))
            image = opened.reduce(factor) if factor >= 2 else opened.copy()
            if orientation in _TRANSPOSE:
                image = image.transpose(_TRANSPOSE[orientation])
            rgba = image.convert("RGBA")
    except Exception:  # Pillow raises a dozen kinds on corrupt or exotic files; any of them means "unreadable"
        return None
    flat = Image.new("RGBA", rgba.size, (*WHITE, 255))
    flat.alpha_composite(rgba)
    return flat.convert("RGB")


def _draw_product(canvas: Image.Image, data: bytes | None) -> None:
    left, top, right, bottom = IMAGE_BOX
    size = (right - left, bottom - top)
    photo = _decode(data, size)
    tile = ImageOps.fit(photo, size, Image.Resampling.LANCZOS) if photo is not None else _placeholder(size)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=20, fill=255)
    canvas.paste(tile, (left, top), mask)


def _placeholder(size: tuple[int, int]) -> Image.Image:
    """A quiet grey tile with a picture outline, so a product without a photo still looks intended."""
    tile = Image.new("RGB", size, PLACEHOLDER_BG)
    draw = ImageDraw.Draw(tile)
    cx, cy = size[0] // 2, size[1] // 2 - 30
    draw.rounded_rectangle((cx - 90, cy - 70, cx + 90, cy + 70), radius=14, outline=PLACEHOLDER_FG, width=8)
    draw.polygon(
        [(cx - 70, cy + 50), (cx - 20, cy - 10), (cx + 10, cy + 20), (cx + 35, cy), (cx + 70, cy + 50)],
        fill=PLACEHOLDER_FG,
    )
    draw.ellipse((cx + 25, cy - 45, cx + 55, cy - 15), fill=PLACEHOLDER_FG)
    draw.text((cx, cy + 120), "暂无商品图片", font=font(Weight.REGULAR, 28), fill=GREY, anchor="mm")
    return tile


def _paste_code(canvas: Image.Image, code: Image.Image) -> None:
    """The code centred in its box: scaled by whole pixels when small, so QR modules stay crisp and exact."""
    width, height = code.size
    if width <= CODE_SIZE and height <= CODE_SIZE:
        factor = min(CODE_SIZE // width, CODE_SIZE // height)
        fitted = code.resize((width * factor, height * factor), Image.Resampling.NEAREST) if factor > 1 else code
    else:
        fitted = ImageOps.contain(code, (CODE_SIZE, CODE_SIZE), Image.Resampling.LANCZOS)
    left = CODE_BOX[0] + (CODE_SIZE - fitted.width) // 2
    top = CODE_BOX[1] + (CODE_SIZE - fitted.height) // 2
    canvas.paste(fitted, (left, top))


# ---- text ----


def _avatar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], name: str, colour: Colour | None) -> None:
    """A disc with the name's first character, its colour fixed by the name so a sharer always looks the same."""
    initial = name[:1]
    if colour is None:
        colour = AVATAR_COLOURS[zlib.crc32(name.encode("utf-8")) % len(AVATAR_COLOURS)]
    draw.ellipse(box, fill=colour)
    size = (box[2] - box[0]) * 15 // 32
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    draw.text(centre, initial, font=font(Weight.BOLD, size), fill=WHITE, anchor="mm")


def _draw_header(draw: ImageDraw.ImageDraw, shop_name: str) -> None:
    name = drawable(shop_name) or "好物推荐"
    _avatar(draw, (MARGIN, 44, MARGIN + 56, 100), name, None)
    face = font(Weight.BOLD, 30)
    draw.text((MARGIN + 72, 72), fit(name, face, CONTENT_WIDTH - 72), font=face, fill=DARK, anchor="lm")


def _draw_prices(draw: ImageDraw.ImageDraw, spec: PosterSpec, top: int) -> int:
    """The headline price row, and under a group price the single-buy row; returns the last baseline."""
    baseline = top + 58
    if spec.price_fen is None:
        return top
    x = float(MARGIN)
    if spec.group_size is not None:
        x = _pill(draw, x, baseline, f"{spec.group_size}人团") + 14
    headline = spec.price_fen if spec.group_price_fen is None else spec.group_price_fen
    if spec.group_price_fen is not None:
        label = font(Weight.BOLD, 30)
        draw.text((x, baseline), "拼团价", font=label, fill=RED, anchor="ls")
        x += label.getlength("拼团价") + 10
    x = _amount(draw, x, baseline, headline, WIDTH - MARGIN - x)
    original = spec.original_price_fen
    if spec.group_price_fen is None:
        if original is not None and original > headline:
            _struck(draw, x + 16, baseline, yuan(original), WIDTH - MARGIN - x - 16)
        return baseline
    baseline += 46
    single = "单买价 " + yuan(spec.price_fen)
    face = font(Weight.REGULAR, 26)
    draw.text((MARGIN, baseline), fit(single, face, CONTENT_WIDTH), font=face, fill=MID, anchor="ls")
    x = MARGIN + face.getlength(single) + 20
    if original is not None and original > max(headline, spec.price_fen):
        _struck(draw, x, baseline, yuan(original), WIDTH - MARGIN - x)
    return baseline


def _amount(draw: ImageDraw.ImageDraw, x: float, baseline: int, fen: int, room: float) -> float:
    """ "¥12.90" in red with the yuan large and the sign and cents smaller; shrinks until it fits ``room``."""
    whole, cents = yuan(fen)[1:].split(".")
    parts: list[tuple[str, int]] = []
    for size in (64, 56, 48, 40, 32, 26):
        parts = [("¥", size * 9 // 16), (whole, size), ("." + cents, size * 5 // 8)]
        if sum(font(Weight.BOLD, s).getlength(text) for text, s in parts) <= room:
            break
    for text, size in parts:
        face = font(Weight.BOLD, size)
        draw.text((x, baseline), text, font=face, fill=RED, anchor="ls")
        x += face.getlength(text) + (4 if text == "¥" else 0)
    return x


def _struck(draw: ImageDraw.ImageDraw, x: float, baseline: int, text: str, room: float) -> None:
    face = font(Weight.REGULAR, 26)
    if face.getlength(text) > room:
        return  # a crossed-out price is a nicety; cut short it would mislead
    draw.text((x, baseline), text, font=face, fill=GREY, anchor="ls")
    middle = baseline - 9
    draw.line((x, middle, x + face.getlength(text), middle), fill=GREY, width=2)


def _pill(draw: ImageDraw.ImageDraw, x: float, baseline: int, text: str) -> float:
    """White bold text on a red rounded tag sitting on the baseline; returns its right edge."""
    face = font(Weight.BOLD, 26)
    width = face.getlength(text) + 24
    draw.rounded_rectangle((x, baseline - 40, x + width, baseline), radius=8, fill=RED)
    draw.text((x + width / 2, baseline - 20), text, font=face, fill=WHITE, anchor="mm")
    return x + width


def _draw_title(draw: ImageDraw.ImageDraw, title: str, first_baseline: int) -> None:
    face = font(Weight.REGULAR, 32)
    for index, line in enumerate(wrap(drawable(title), face, CONTENT_WIDTH, max_lines=2)):
        draw.text((MARGIN, first_baseline + 46 * index), line, font=face, fill=DARK, anchor="ls")


def _draw_footer(canvas: Image.Image, draw: ImageDraw.ImageDraw, spec: PosterSpec, code: Image.Image) -> None:
    """A dashed rule, then the sharer and the caption on the left and the code on the right."""
    rule_y = CODE_BOX[1] - 24
    for x in range(MARGIN, WIDTH - MARGIN, 14):
        draw.line((x, rule_y, min(x + 7, WIDTH - MARGIN), rule_y), fill=RULE, width=2)
    column = CODE_BOX[0] - 24 - MARGIN
    text_x = MARGIN + 80
    nickname = drawable(spec.sharer_nickname or "")
    name_face, tail_face = font(Weight.BOLD, 30), font(Weight.REGULAR, 28)
    top = CODE_BOX[1] + 16
    if nickname:
        _avatar(draw, (MARGIN, top, MARGIN + 64, top + 64), nickname, None)
        tail = " 推荐给你"
        shown = fit(nickname, name_face, column - 80 - tail_face.getlength(tail))
        draw.text((text_x, top + 30), shown, font=name_face, fill=DARK, anchor="ls")
        draw.text((text_x + name_face.getlength(shown), top + 30), tail, font=tail_face, fill=MID, anchor="ls")
    else:
        _avatar(draw, (MARGIN, top, MARGIN + 64, top + 64), "荐", RED)
        draw.text((text_x, top + 30), "为你推荐一件好物", font=tail_face, fill=DARK, anchor="ls")
    hint = "邀你一起拼团，拼成享拼团价" if spec.group_price_fen is not None else "好物分享给你，一起来看看"
    small = font(Weight.REGULAR, 24)
    draw.text((text_x, top + 66), fit(hint, small, column - 80), font=small, fill=GREY, anchor="ls")
    _draw_caption(draw, drawable(spec.caption), column)
    _paste_code(canvas, code)


def _draw_caption(draw: ImageDraw.ImageDraw, caption: str, column: int) -> None:
    """The call to action in a pale red pill level with the bottom of the code, pointing at it."""
    if not caption:
        return
    face = font(Weight.REGULAR, 26)
    shown = fit(caption, face, column - 70)
    bottom = CODE_BOX[1] + CODE_SIZE - 20
    right = MARGIN + face.getlength(shown) + 70
    draw.rounded_rectangle((MARGIN, bottom - 52, right, bottom), radius=26, fill=PALE_RED)
    draw.text((MARGIN + 22, bottom - 26), shown, font=face, fill=RED, anchor="lm")
    tip = right - 22
    draw.polygon([(tip - 10, bottom - 34), (tip, bottom - 26), (tip - 10, bottom - 18)], fill=RED)
