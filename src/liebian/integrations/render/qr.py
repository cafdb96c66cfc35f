"""QR codes for shares and store / table codes, as PNG or SVG, through segno.

Error correction is at least M: ``boost_error`` raises it to Q or H whenever that costs no extra
modules, so short share links get the sturdier code for free (table codes get scuffed and printed small).
"""

from __future__ import annotations

import io

import segno

ERROR_CORRECTION = "m"
MAX_DATA_CHARS = 1000
MAX_SCALE = 64  # 64 px a module is already poster-print size; a bound keeps a request from asking for gigapixels
MAX_BORDER = 16


def make(data: str) -> segno.QRCode:
    """The QR symbol both writers draw; tests rebuild it to check the pixels module by module."""
    if not isinstance(data, str) or not data:
        raise ValueError("QR data must be a non-empty string")
    if len(data) > MAX_DATA_CHARS:
        raise ValueError(f"QR data is {len(data)} characters; at most {MAX_DATA_CHARS}")
    try:
        return segno.make_qr(data, error=ERROR_CORRECTION, boost_error=True)
    except segno.DataOverflowError as exc:
        # 1000 characters of Chinese are 3000 UTF-8 bytes, more than a version-40 symbol holds at level M.
        raise ValueError(f"QR data does not fit in a QR code: {exc}") from exc


def png(data: str, *, scale: int = 8, border: int = 2) -> bytes:
    """A black-on-white PNG, ``scale`` pixels a module with a ``border``-module quiet zone."""
    _check_int("scale", scale, 1, MAX_SCALE)
    _check_int("border", border, 0, MAX_BORDER)
    out = io.BytesIO()
    make(data).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def svg(data: str, *, scale: int = 4, border: int = 2) -> str:
    """An SVG document (no XML declaration, so it can be inlined in HTML), ``scale`` units a module."""
    _check_int("scale", scale, 1, MAX_SCALE)
    _check_int("border", border, 0, MAX_BORDER)
    out = io.BytesIO()
    make(data).save(out, kind="svg", scale=scale, border=border, xmldecl=False, svgclass=None, lineclass=None)
    return out.getvalue().decode("utf-8")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
