"""Slow clients time out (issue 15): under the options every HTTP process runs with, a connection
that sends nothing, its headers a byte at a time or only part of its body is closed once its
deadline passes, while a client that sends its request at once is answered however long the
application takes. Deadlines are set short here (`GUANJIA_HEADER_TIMEOUT`, `GUANJIA_BODY_TIMEOUT`);
the test waits for the server to close, it does not time it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import Receive, Scope, Send

from services.cli import uvicorn_options
from tests.fakes.live_service import environment
from tests.system.harness import free_port

DEADLINE = "0.5"
SLOW_APP_SECONDS = 1.5  # longer than both deadlines: the application's time is not cut


async def slow_echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await asyncio.sleep(SLOW_APP_SECONDS)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"got %d" % len(body)})


@asynccontextmanager
async def served() -> AsyncIterator[int]:
    port = free_port()
    async with environment({"GUANJIA_HEADER_TIMEOUT": DEADLINE, "GUANJIA_BODY_TIMEOUT": DEADLINE}):
        server = uvicorn.Server(uvicorn.Config(slow_echo, host="127.0.0.1", port=port, **uvicorn_options()))  # type: ignore[arg-type]
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
            yield port
        finally:
            server.should_exit = True
            await task


async def closed_by_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trickle: bytes
) -> bool:
    """Send `trickle` a byte every 0.1 s (each byte would reset a keep-alive timer) until the
    server closes the connection; False if it never does within 20 s."""
    for i in range(200):
        if i < len(trickle):
            try:
                writer.write(trickle[i : i + 1])
                await writer.drain()
            except ConnectionError:
                return True
        try:
            data = await asyncio.wait_for(reader.read(1024), timeout=0.1)
        except TimeoutError:
            continue
        except ConnectionError:
            return True
        if data == b"":
            return True
    return False


async def test_slow_clients_are_cut_off_and_a_prompt_one_waits_for_a_slow_answer() -> None:
    async with served() as port:
        # Nothing at all after connecting.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_server(reader, writer, b"")
        writer.close()
        # Headers a byte at a time, never finished (slowloris).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_server(reader, writer, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 150)
        writer.close()
        # Headers at once, then part of the body and no more.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()
        assert await closed_by_server(reader, writer, b"")
        writer.close()
        # A whole request at once is answered, although the application takes longer than both deadlines.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=20)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200") and b"got 5" in answer, answer
