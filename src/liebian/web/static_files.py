"""``/static``: the pages' own scripts, styles and vendored libraries (no CDN is ever used)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from liebian.web.render import STATIC


class VersionedStatic(StaticFiles):
    """Asset URLs carry their content hash (``render.asset``), so a browser may keep them for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_app() -> VersionedStatic:
    return VersionedStatic(directory=STATIC)
