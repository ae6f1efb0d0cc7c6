"""A lean HTTP/1.1 keep-alive client for open-loop load at a fixed rate.

httpx is right for the tests, but as a load generator on this 2-core machine it costs more CPU
than the server under test: with hundreds of requests queued, httpcore's pool bookkeeping grows
with the square of the queue and the client starves the server it measures. This client does the
least that HTTP/1.1 needs (status line, Content-Length body) over a fixed set of connections.
Latency is measured from the moment a request was *scheduled*, so a slow server is not hidden by
requests that waited for a free connection (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    """Latencies (ms) of answered requests, their status codes, and requests that failed."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failed: int = 0


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return status


def get_request(url: str, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of a keep-alive GET of `url` (path and query) with `headers`."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def fixed_rate(
    url: str, requests: list[bytes], rate: float, seconds: float, connections: int = 32
) -> Result:
    """Send `requests` in turn to `url`'s host, `rate` a second for `seconds`, whatever the answers."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(_Conn(*await asyncio.open_connection(host, port)))
    result = Result()

    async def one(scheduled: float, request: bytes) -> None:
        conn = await idle.get()
        try:
            status = await conn.exchange(request)
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            result.failed += 1
            conn.writer.close()
            idle.put_nowait(_Conn(*await asyncio.open_connection(host, port)))
            return
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        result.statuses.append(status)
        idle.put_nowait(conn)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, requests[i % len(requests)])))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().writer.close()
    return result
