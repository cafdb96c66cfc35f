"""Image uploads of the console (product photos), kept under ``{home}/media`` and served back by Liebian.

An upload is one ``multipart/form-data`` part named ``file``: at most 5 MiB, a JPEG, PNG, WebP or GIF that
Pillow can decode whole, at most 40 megapixels (a small file can declare a huge canvas). Its name is the
SHA-256 of its bytes, so the same photo uploaded twice is one file and its URL never changes content, and
nothing a merchant types ends up in a path. The URL (``/media/{shop_id}/{sha256}.{ext}``) is what product
``images`` take; pages may show it under the strict image policy (``img-src 'self'``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from liebian.kit.errors import Invalid, NotFound, PayloadTooLarge, Problem
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console", tags=["console: catalog"])
media = APIRouter(prefix="/media", include_in_schema=False)

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
_FORM_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
           "GIF": ("image/gif", "gif")}
TYPES = {ext: content_type for content_type, ext in FORMATS.values()}
_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|webp|gif)$")
_SHOP_ID = re.compile(r"^[1-9][0-9]{0,18}$")


class UnsupportedMediaType(Problem):
    status = 415
    default_title: ClassVar[str] = "Unsupported media type"


class LengthRequired(Problem):
    status = 411
    default_title: ClassVar[str] = "Length required"


class UploadOut(BaseModel):
    url: str
    content_type: str
    size: int
    width: int
    height: int


@dataclass(frozen=True)
class Checked:
    format: str
    width: int
    height: int


def check_image(data: bytes) -> Checked:
    """Decode the whole image (a truncated or forged file fails here), within the size and type limits."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format or "", probe.size
            if kind not in FORMATS:
                raise UnsupportedMediaType("unsupported_image_type",
                                           "Upload a JPEG, PNG, WebP or GIF image.", format=kind or None)
            if width * height > MAX_PIXELS:
                raise Invalid("image_too_large", f"An image has at most {MAX_PIXELS} pixels "
                              f"(this one is {width}×{height}).")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Invalid("invalid_image", "The file is not an image that can be read.") from exc
    return Checked(kind, width, height)


def media_root(request: Request) -> Path:
    home: Path = request.app.state.settings.home
    return Path(home) / "media"


def _store(root: Path, shop_id: int, name: str, data: bytes) -> None:
    folder = root / str(shop_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        return  # the same bytes are already there (names are their hash)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, target)  # readers never see half a file
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def _the_file(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType("multipart_required", "Send the image as multipart/form-data, in a part "
                                   "named 'file'.")
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise LengthRequired("length_required", "Send a Content-Length with the upload.")
    if int(length) > MAX_BYTES + _FORM_OVERHEAD:
        raise PayloadTooLarge("file_too_large", f"An image is at most {MAX_BYTES // (1024 * 1024)} MiB.",
                              max_bytes=MAX_BYTES)
    try:
        form = await request.form(max_files=1, max_fields=5)
    except HTTPException as exc:  # a malformed body: starlette's parser says why
        raise Invalid("invalid_upload", f"The upload could not be read: {exc.detail}") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("file_required", "Send the image in a part named 'file'.")
    data = await upload.read(MAX_BYTES + 1)
    await form.close()
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge("file_too_large", f"An image is at most {MAX_BYTES // (1024 * 1024)} MiB.",
                              max_bytes=MAX_BYTES)
    if not data:
        raise Invalid("file_required", "The file is empty.")
    return data


@console.post("/uploads", status_code=201, response_model=UploadOut, openapi_extra={"requestBody": {
    "required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def upload_image(request: Request, shop: ConsoleShop) -> UploadOut:
    """Upload a product photo (part ``file``: JPEG, PNG, WebP or GIF, at most 5 MiB and 40 megapixels);
    the answer's ``url`` goes into a product's ``images``."""
    data = await _the_file(request)
    checked = await asyncio.to_thread(check_image, data)
    content_type, ext = FORMATS[checked.format]
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    await asyncio.to_thread(_store, media_root(request), shop.id, name, data)
    return UploadOut(url=f"/media/{shop.id}/{name}", content_type=content_type, size=len(data),
                     width=checked.width, height=checked.height)


@media.get("/{shop_id}/{name}")
async def media_file(request: Request, shop_id: str, name: str) -> FileResponse:
    # Anything but a shop id and a hash name is simply not there (404), never a path to follow.
    found = _NAME.match(name)
    if found is None or not _SHOP_ID.match(shop_id):
        raise NotFound("not_found", "No such image.")
    path = media_root(request) / shop_id / name
    if not await asyncio.to_thread(path.is_file):
        raise NotFound("not_found", "No such image.")
    # Content-addressed: the bytes behind a URL never change. Served as an image only, never sniffed.
    return FileResponse(path, media_type=TYPES[found.group(1)], headers={
        "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})
