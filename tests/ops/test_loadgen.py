"""The benchmarks' load generator: responses parsed whole, counted in their window, broken connections reopened."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from liebian.benchmarks import loadgen

ANSWER = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def test_a_response_is_taken_only_once_all_of_it_is_there() -> None:
    for cut in range(len(ANSWER)):
        assert loadgen.parse_response(ANSWER[:cut]) is None
    assert loadgen.parse_response(ANSWER) == (201, b"{}", len(ANSWER))


def test_two_responses_in_one_read_are_taken_one_by_one() -> None:
    two = ANSWER + b"HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\n\r\nsold!"
    status, body, used = loadgen.parse_response(two) or (0, b"", 0)
    assert (status, body) == (201, b"{}")
    assert loadgen.parse_response(two[used:]) == (409, b"sold!", len(two) - used)


def test_chunked_bodies_are_put_together() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n"
    assert loadgen.parse_response(chunked) == (200, b"abcde", len(chunked))
    assert loadgen.parse_response(chunked[:-2]) is None


async def _load(close_after: int, request: bytes, **run: Any) -> tuple[loadgen.LoadResult, int]:
    """The load generator against a server that answers 201 to every request and closes each connection after
    ``close_after`` answers: its result, and how many connections it opened."""
    opened: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(1)
        try:
            for _ in range(close_after):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                await reader.readexactly(length)
                writer.write(ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, loadgen.LOOPBACK, 0)
    try:
        result = await loadgen.run(server.sockets[0].getsockname()[1], [request], **run)
    finally:
        server.close()
        await server.wait_closed()
    return result, len(opened)


POST = loadgen.request_bytes("POST", "/x", body=b"{}")


async def test_the_count_bounds_the_run_and_every_request_is_answered() -> None:
    result, opened = await _load(10**9, POST, clients=3, warmup=5, seconds=5, max_requests=60)
    assert result.total == {"201": 60} and result.errors == {} and 1 <= opened <= 3


async def test_only_answers_inside_the_window_count() -> None:
    result, _ = await _load(10**9, loadgen.request_bytes("GET", "/x"), clients=2, warmup=0.3, seconds=0.5)
    assert 0 < result.ok == result.statuses["201"] < result.total["201"]  # the warm-up's answers are not counted
    assert result.per_second == pytest.approx(result.ok / result.seconds) and result.p50_ms is not None


async def test_a_connection_the_server_closes_is_an_error_and_is_opened_again() -> None:
    result, opened = await _load(5, POST, clients=3, warmup=5, seconds=5, max_requests=60)
    # A close loses the request sent after the fifth answer, and is an error if there was more to send then;
    # the clients go on over new connections until 60 were sent.
    answered, closed = result.total["201"], result.errors["ConnectionClosed"]
    assert opened > 3 and closed >= 1
    assert answered + closed <= 60 <= answered + closed + 3



async def test_a_server_that_stops_answering_leaves_no_connection_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadgen, "GRACE_SECONDS", 0.5)
    accepted: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append((reader, writer))  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, loadgen.LOOPBACK, 0)
    try:
        result = await loadgen.run(server.sockets[0].getsockname()[1], [POST], clients=2, warmup=0.1, seconds=0.2)
        assert result.errors == {"NoAnswerAfterWindow": 2} and result.total == {}
        for reader, _ in accepted:  # the load generator dropped both connections: the server sees their end
            with contextlib.suppress(ConnectionResetError):
                await asyncio.wait_for(reader.read(), 2)
        assert len(accepted) == 2
    finally:
        for _, writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
