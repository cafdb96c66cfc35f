"""`serve --workers N` must turn Nagle off on every connection (else each keep-alive answer waits ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from liebian.cli import NoDelayConfig


async def test_connections_accepted_on_the_shared_socket_have_tcp_nodelay() -> None:
    config = NoDelayConfig("liebian.app:create_app_from_env", factory=True, host="127.0.0.1", port=0, workers=2)
    sock = config.bind_socket()
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        await accepted.put(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    try:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted.get(), 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
