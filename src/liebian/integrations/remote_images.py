"""Product photos fetched from the merchant's image host, for posters: guarded, bounded, cached on disk.

A photo URL is whatever a merchant typed, so fetching it is a server-side request on their behalf (SSRF).
Every hop is checked before it is made: http or https only, the host resolved here and every address it
resolves to must be public (loopback and private ranges only when ``allow_private``, i.e. the sandbox), and
the connection goes to the address that was checked (the Host header and TLS name stay the original host),
so a DNS answer that changes between the check and the connection cannot point the request inwards.
Answers must be 200 with an ``image/*`` type and at most ``max_bytes``; up to ``MAX_REDIRECTS`` redirects are
followed, each checked the same way. Any failure is ``None`` (the poster shows a placeholder) and is
remembered for a few minutes, so a dead host does not cost every poster a timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
FAILURE_MEMORY_SECONDS = 300.0
MAX_FAILURES_KEPT = 10_000


class Refused(Exception):
    """This URL, or where it led, may not be fetched (the reason is logged, never shown to customers)."""


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False  # the sandbox serves demo and test photos from 127.0.0.1
    max_bytes: int = 5 * 1024 * 1024
    timeout_seconds: float = 5.0


def check_address(address: str, *, allow_private: bool) -> None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified or ip.is_link_local:  # link-local: cloud metadata services
        raise Refused(f"address {ip} is not a host we fetch from")
    if not ip.is_global and not (allow_private and (ip.is_loopback or ip.is_private)):
        raise Refused(f"address {ip} is not public")


class RemoteImages:
    def __init__(self, policy: FetchPolicy, cache_dir: Path | None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy
        self.cache_dir = cache_dir
        self._client = httpx.AsyncClient(transport=transport, timeout=policy.timeout_seconds, follow_redirects=False,
                                         headers={"User-Agent": "Liebian poster renderer"})
        self._failed: dict[str, float] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / hashlib.sha256(url.encode()).hexdigest()

    async def get(self, url: str) -> bytes | None:
        """The image's bytes, or None when it cannot or may not be fetched."""
        path = self._cache_path(url)
        if path is not None and path.is_file():
            return await asyncio.to_thread(path.read_bytes)
        if self._failed.get(url, 0.0) > time.monotonic():
            return None
        try:
            data = await asyncio.wait_for(self._fetch(url), self.policy.timeout_seconds * 2)
        except (Refused, httpx.HTTPError, OSError, TimeoutError, ValueError) as exc:
            log.warning("product photo not fetched (%s): %s", type(exc).__name__, exc)
            if len(self._failed) >= MAX_FAILURES_KEPT:
                self._failed.clear()
            self._failed[url] = time.monotonic() + FAILURE_MEMORY_SECONDS
            return None
        if path is not None:
            await asyncio.to_thread(_write_atomically, path, data)
        return data

    async def _fetch(self, url: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            request = await self._pinned_request(url)
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                return await self._read_image(response)
            finally:
                await response.aclose()
        raise Refused("too many redirects")

    async def _pinned_request(self, url: str) -> httpx.Request:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("only http and https URLs with a host")
        if parts.username or parts.password:
            raise Refused("credentials in the URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise Refused("the host does not resolve")
        for address in addresses:
            check_address(address, allow_private=self.policy.allow_private)
        literal = f"[{addresses[0]}]" if ":" in addresses[0] else addresses[0]
        pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return self._client.build_request("GET", pinned, headers={"Host": host},
                                          extensions={"sni_hostname": parts.hostname})

    async def _read_image(self, response: httpx.Response) -> bytes:
        if response.status_code != 200:
            raise Refused(f"answered {response.status_code}")
        if not response.headers.get("content-type", "").lower().startswith("image/"):
            raise Refused(f"not an image ({response.headers.get('content-type', 'no type')})")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.policy.max_bytes:
            raise Refused(f"larger than {self.policy.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise Refused(f"larger than {self.policy.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
