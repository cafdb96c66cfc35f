"""Rendering of page shells: the Jinja2 environment, the language, asset URLs and the page's config."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
Lang = Literal["zh", "en"]
LANG_COOKIE = "lb_lang"

# Scripts come only from our own files (no inline script can run); charts and the storefront set inline
# styles, and images may be data: URLs (QR codes) or blobs (posters).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
                                "base-uri 'self'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def language(request: Request) -> Lang:
    """The visitor's choice (cookie), else the browser's first preference; Chinese unless English is asked."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("zh", "en"):
        return "en" if chosen == "en" else "zh"
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "zh"


@functools.cache
def _asset_version(path: str) -> str:
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC) or not file.is_file():
        raise FileNotFoundError(f"no static asset {path}")
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10]


def asset(path: str) -> str:
    """``/static/<path>?v=<content hash>``: cached for a year, refreshed when the file changes."""
    return f"/static/{path}?v={_asset_version(path)}"


def _page_config(config: dict[str, Any]) -> Markup:
    # JSON inside <script type="application/json">: "</" must not close the element early.
    text = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return Markup(text)  # noqa: S704 - escaped above for its only context, a JSON script element


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["asset"] = asset
    return env


def render(request: Request, template: str, *, config: dict[str, Any], status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page: ``_(zh, en)`` picks the visitor's language; ``config`` reaches the page's script as JSON."""
    lang = language(request)
    settings = request.app.state.settings

    def choose(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    full_config = {"lang": lang, "sandbox": bool(settings.sandbox), **config}
    html = environment().get_template(template).render(
        _=choose, lang=lang, sandbox=settings.sandbox, page_config=_page_config(full_config), request=request,
        **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
