"""A small HTTP/1.1 load generator: keep-alive connections as asyncio protocols, requests prepared as bytes.

httpx spends most of a core on its own request and response objects (bench/README.md: 355 visits/s where wrk
made 1,133 on the same server); here a request is one ``write`` of ready bytes and a response is a status line,
headers read up to the blank line, and a ``Content-Length`` body, so the generator takes a small share of the
CPU it shares with the server. It talks to 127.0.0.1 only, and stops at the end of its window or after
``max_requests``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = "127.0.0.1"
GRACE_SECONDS = 30.0  # after the window, how long answers still in flight are waited for


def request_bytes(method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request, keep-alive, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    clients: int
    seconds: float  # the measured window
    ok: int  # answers with an expected status that completed inside the window
    per_second: float
    p50_ms: float | None
    p99_ms: float | None
    statuses: dict[str, int]  # every answer in the window, by status
    total: dict[str, int]  # every answer, warm-up included
    errors: dict[str, int]
    samples: list[str] = field(default_factory=list)  # the first few unexpected answers
    generator_cpu_pct: float | None = None  # this process's CPU over the run, % of one core

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ms(sorted_seconds: list[float], pct: float) -> float | None:
    if not sorted_seconds:
        return None
    k = min(len(sorted_seconds) - 1, max(0, round(pct / 100 * (len(sorted_seconds) - 1))))
    return round(sorted_seconds[k] * 1000, 3)


def parse_response(buf: bytes | bytearray) -> tuple[int, bytes, int] | None:
    """The first complete response in ``buf``: (status, body, bytes it took), or None until it is all there.
    ``Content-Length`` and chunked bodies (our server sends the first; the second is handled for safety)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end])
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    at = end + 4
    if not chunked:
        return (status, bytes(buf[at:at + length]), at + length) if len(buf) >= at + length else None
    body = bytearray()
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buf[at:line_end]).split(b";")[0], 16)
        chunk_end = line_end + 2 + size + 2
        if len(buf) < chunk_end:
            return None
        if size == 0:
            return status, bytes(body), chunk_end
        body += buf[line_end + 2:chunk_end - 2]
        at = chunk_end


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    in_window: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    sent: int = 0


class _Client(asyncio.Protocol):
    """One keep-alive connection: the next request is written from ``data_received`` as soon as the last
    answer is complete (no stream reader, no task switch per request)."""

    def __init__(self, load: _Load, rng: random.Random) -> None:
        self._load, self._rng = load, rng
        self._buffer = bytearray()
        self._sent_at = 0.0
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._load.open.add(self)
        self._send()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _send(self) -> None:
        load, transport = self._load, self._transport
        assert transport is not None
        now = time.perf_counter()
        if now >= load.window_end or load.tally.sent >= load.max_requests:
            transport.close()
            return
        load.tally.sent += 1
        self._sent_at = now
        transport.write(load.choose(self._rng))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (answer := parse_response(self._buffer)) is not None:
            status, body, used = answer
            del self._buffer[:used]
            self._load.count(status, body, self._sent_at, time.perf_counter())
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._load.open.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class _Load:
    choose: Callable[[random.Random], bytes]
    ok_status: frozenset[int]
    max_requests: int
    window_start: float
    window_end: float
    tally: _Tally = field(default_factory=_Tally)
    open: set[_Client] = field(default_factory=set)

    def count(self, status: int, body: bytes, sent_at: float, answered_at: float) -> None:
        tally, key = self.tally, str(status)
        tally.total[key] += 1
        if status not in self.ok_status and len(tally.samples) < 5:
            tally.samples.append(f"{status}: {body[:300].decode(errors='replace')}")
        if self.window_start <= answered_at <= self.window_end:
            tally.in_window[key] += 1
            if status in self.ok_status:
                tally.latencies.append(answered_at - sent_at)

    def more(self) -> bool:
        return time.perf_counter() < self.window_end and self.tally.sent < self.max_requests


async def run(port: int, pick: Callable[[random.Random], bytes] | Sequence[bytes], *, clients: int,
              warmup: float, seconds: float, ok_status: frozenset[int] = frozenset({200, 201}),
              max_requests: int = 2_000_000, seed: int = 0) -> LoadResult:
    """``clients`` connections, each sending requests one after another: a warm-up, then the measured window.

    The clients connect one by one over the first half of the warm-up: connections opened all at once are all
    accepted by whichever API process wakes first, and stay there (keep-alive). Only answers with a status in
    ``ok_status`` that complete inside the window count, with their latencies as the client sees them. A
    connection the server closes (or that breaks) is counted as an error and opened again.
    """
    choose: Callable[[random.Random], bytes] = (
        (lambda rng: rng.choice(pick)) if isinstance(pick, Sequence) else pick)
    start, cpu_start = time.perf_counter(), time.process_time()
    load = _Load(choose, ok_status, max_requests, start + warmup, start + warmup + seconds)
    loop = asyncio.get_running_loop()

    async def client(i: int) -> None:
        rng = random.Random(seed * 100_003 + i)
        await asyncio.sleep(i * warmup / 2 / max(1, clients))
        while load.more():
            try:
                _, protocol = await loop.create_connection(lambda: _Client(load, rng), LOOPBACK, port)
            except OSError as exc:
                load.tally.errors[type(exc).__name__] += 1
                return
            await protocol.closed
            if load.more():  # closed by the server, or broken, before the end: an error, and a new connection
                load.tally.errors["ConnectionClosed"] += 1

    try:
        await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(clients))), warmup + seconds + GRACE_SECONDS)
    except TimeoutError:  # a server that stopped answering: its connections are dropped, nothing is left open
        load.tally.errors["NoAnswerAfterWindow"] += len(load.open)
        for hung in list(load.open):
            hung.abort()
    ended = time.perf_counter()
    measured = min(seconds, max(1e-9, ended - load.window_start))
    cpu_pct = round(100 * (time.process_time() - cpu_start) / max(1e-9, ended - start), 1)
    tally = load.tally
    tally.latencies.sort()
    return LoadResult(clients=clients, seconds=round(measured, 3), ok=len(tally.latencies),
                      per_second=len(tally.latencies) / measured, p50_ms=_ms(tally.latencies, 50),
                      p99_ms=_ms(tally.latencies, 99), statuses=dict(tally.in_window), total=dict(tally.total),
                      errors=dict(tally.errors), samples=tally.samples, generator_cpu_pct=cpu_pct)
