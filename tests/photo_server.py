"""A real HTTP server on 127.0.0.1 for product photos (posters fetch them over the wire, as from a CDN)."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def solid_png(color: tuple[int, int, int], size: tuple[int, int] = (600, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class PhotoServer:
    """Routes: /red.png, /page.html (not an image), /huge.png (over any small limit), /missing (404),
    /redirect (to /red.png), /loop (redirects to itself). ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.red = solid_png((255, 0, 0))
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits[self.path] += 1
                if self.path == "/red.png":
                    self._answer(200, "image/png", owner.red)
                elif self.path == "/huge.png":
                    self._answer(200, "image/png", b"\0" * 300_000)
                elif self.path == "/page.html":
                    self._answer(200, "text/html", b"<html>not a photo</html>")
                elif self.path in ("/redirect", "/loop"):
                    self.send_response(302)
                    self.send_header("Location", "/red.png" if self.path == "/redirect" else "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._answer(404, "text/plain", b"no")

            def _answer(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @contextmanager
    def running(self) -> Iterator[PhotoServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
