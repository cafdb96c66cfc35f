"""A small HTTP/1.1 load generator: keep-alive connections on raw asyncio streams, requests prepared as bytes.

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


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
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
    if not chunked:
        return status, await reader.readexactly(length) if length else b""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, bytes(body)
        body += chunk[:-2]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    in_window: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    sent: int = 0


async def run(port: int, pick: Callable[[random.Random], bytes] | Sequence[bytes], *, clients: int,
              warmup: float, seconds: float, ok_status: frozenset[int] = frozenset({200, 201}),
              max_requests: int = 2_000_000, seed: int = 0) -> LoadResult:
    """``clients`` connections, each sending requests one after another: a warm-up, then the measured window.

    The clients connect one by one over the first half of the warm-up: connections opened all at once are all
    accepted by whichever API process wakes first, and stay there (keep-alive). Only answers with a status in
    ``ok_status`` that complete inside the window count, with their latencies as the client sees them.
    """
    choose: Callable[[random.Random], bytes] = (
        (lambda rng: rng.choice(pick)) if isinstance(pick, Sequence) else pick)
    start, cpu_start = time.perf_counter(), time.process_time()
    window_start, window_end = start + warmup, start + warmup + seconds
    tally = _Tally()

    async def client(i: int) -> None:
        rng = random.Random(seed * 100_003 + i)
        await asyncio.sleep(i * warmup / 2 / max(1, clients))
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            while tally.sent < max_requests:
                t0 = time.perf_counter()
                if t0 >= window_end:
                    return
                tally.sent += 1
                writer.write(choose(rng))
                try:
                    status, body = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    tally.errors[type(exc).__name__] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(LOOPBACK, port)
                    continue
                t1 = time.perf_counter()
                key = str(status)
                tally.total[key] += 1
                if status not in ok_status and len(tally.samples) < 5:
                    tally.samples.append(f"{status}: {body[:300].decode(errors='replace')}")
                if window_start <= t1 <= window_end:
                    tally.in_window[key] += 1
                    if status in ok_status:
                        tally.latencies.append(t1 - t0)
        except OSError as exc:
            tally.errors[type(exc).__name__] += 1
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    ended = time.perf_counter()
    measured = min(seconds, max(1e-9, ended - window_start))
    cpu_pct = round(100 * (time.process_time() - cpu_start) / max(1e-9, ended - start), 1)
    tally.latencies.sort()
    return LoadResult(clients=clients, seconds=round(measured, 3), ok=len(tally.latencies),
                      per_second=len(tally.latencies) / measured, p50_ms=_ms(tally.latencies, 50),
                      p99_ms=_ms(tally.latencies, 99), statuses=dict(tally.in_window), total=dict(tally.total),
                      errors=dict(tally.errors), samples=tally.samples, generator_cpu_pct=cpu_pct)
