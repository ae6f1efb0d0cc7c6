"""A lean HTTP/1.1 keep-alive transport for httpx, for the calls between our own services.

httpx's own transport (httpcore) was a sixth of the gateway's CPU on the hotline path: per call it
builds and walks its pool's bookkeeping, parses the answer with h11 in pure Python and goes
through anyio's stream layer (`bench.http_clients`). The calls between our services are plain
HTTP/1.1 to uvicorn on a private network: no TLS, proxies, HTTP/2, `Expect: 100-continue` or
upgrades. This transport does only that: a last-in-first-out set of keep-alive connections, each
request written in one piece, each answer parsed by httptools (the C parser uvicorn itself reads
requests with). It is used as any httpx transport: in an `httpx.AsyncClient`, or with an
`httpx.Request` sent on it directly, as the gateway does (`services.gateway.service.client`).
Every failure is httpx's own exception, with the same meaning: a `ConnectError`,
`ConnectTimeout` or `PoolTimeout` was never sent; any other `TransportError` was sent and its
answer lost.
"""

from __future__ import annotations

import asyncio
import time

import httptools
import httpx

# uvicorn closes a connection idle for 5 s (`timeout_keep_alive`); one idle this long is closed
# here first, so a request is never written to a connection the server is closing.
KEEPALIVE_EXPIRY_S = 4.0
_HOP_BY_HOP = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive"})


class _Answer:
    """httptools' callbacks: what one response brings."""

    __slots__ = ("begun", "body", "complete", "head_only", "headers", "keep_alive", "parser", "status")

    def __init__(self, head_only: bool) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.begun = 0
        self.status = 0
        self.head_only = head_only  # an answer to HEAD has no body, whatever its length says
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        # More than one answer to one request: the connection is out of step, never reused.
        self.begun += 1
        if self.begun > 1:
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.begun == 1:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete the parser is reset for the next one.
        if self.begun > 1:
            return
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        if self.begun == 1:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def reusable(self, now: float) -> bool:
        # A closed socket shows as end of file once the loop has seen it; one that expired may
        # be closed by the server while our request is on its way; bytes that arrived while it
        # was idle answer nothing we asked, and would be read as the next request's answer.
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY_S
            and not self.reader.at_eof()
            and not self.writer.is_closing()
            and not getattr(self.reader, "_buffer", None)
        )

    def close(self) -> None:
        self.writer.close()


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    timeout: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeout


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over keep-alive connections to one or more plain `http://` services (see the
    module). At most `max_connections` at once; a request waits for a free one up to the pool
    timeout."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max = max_connections
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> asyncio.Semaphore:
        # Connections and the semaphore belong to one event loop; a transport reused under
        # another (`asyncio.run` more than once in a process) starts afresh instead of touching
        # dead ones.
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._idle, self._loop = {}, loop
            self._slots = asyncio.Semaphore(self._max)
        return self._slots

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request and read its whole answer."""
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"only plain http between services: {request.url.scheme}")
        waits = _timeouts(request)
        slots = self._bind()
        try:
            async with asyncio.timeout(waits.get("pool")):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the service", request=request) from None
        try:
            return await self._exchange(request, waits)
        finally:
            slots.release()

    async def _exchange(self, request: httpx.Request, waits: dict[str, float | None]) -> httpx.Response:
        key = (request.url.host, request.url.port or 80)
        message = _serialise(request, await request.aread())
        conn, reused = self._checkout(key), True
        if conn is None:
            conn, reused = await _connect(key, waits.get("connect"), request), False
        kept = False
        try:
            try:
                answer = await _send_and_read(conn, message, waits, request)
            except _NothingBack:
                if not reused or request.method not in ("GET", "HEAD", "OPTIONS"):
                    raise httpx.RemoteProtocolError(
                        "the service closed the connection without answering", request=request
                    ) from None
                # The keep-alive race on a read: the server closed an idle connection as we wrote.
                conn.close()
                conn = await _connect(key, waits.get("connect"), request)
                answer = await _send_and_read(conn, message, waits, request)
            if answer.keep_alive and request.method != "HEAD":
                conn.idle_since = time.monotonic()
                self._idle.setdefault(key, []).append(conn)
                kept = True
            return httpx.Response(
                answer.status,
                headers=answer.headers,
                stream=httpx.ByteStream(b"".join(answer.body)),
                extensions={"http_version": b"HTTP/1.1"},
                request=request,
            )
        finally:
            if not kept:
                conn.close()

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable(now):
                return conn
            conn.close()
        return None

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their exchange ends."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle = {}


class _NothingBack(Exception):
    """The connection ended before a single byte of the answer."""


def _serialise(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    head += [
        b"%s: %s\r\n" % (name, value)
        for name, value in request.headers.raw
        if name.lower() not in _HOP_BY_HOP
    ]
    if body or request.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
        head.append(b"content-length: %d\r\n" % len(body))
    head.append(b"\r\n")
    return b"".join(head) + body


async def _connect(key: tuple[str, int], wait: float | None, request: httpx.Request) -> _Connection:
    try:
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(*key)
    except TimeoutError:
        raise httpx.ConnectTimeout(f"no connection to {key[0]}:{key[1]} in time", request=request) from None
    except OSError as exc:
        raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc}", request=request) from exc
    return _Connection(reader, writer)


async def _send_and_read(
    conn: _Connection, message: bytes, waits: dict[str, float | None], request: httpx.Request
) -> _Answer:
    answer = _Answer(head_only=request.method == "HEAD")
    try:
        conn.writer.write(message)
        async with asyncio.timeout(waits.get("write")):
            await conn.writer.drain()
    except TimeoutError:
        raise httpx.WriteTimeout("the service did not take the request in time", request=request) from None
    except OSError as exc:
        raise httpx.WriteError(str(exc) or "the connection failed while sending", request=request) from exc
    received = 0
    try:
        async with asyncio.timeout(waits.get("read")):
            while not answer.complete:
                data = await conn.reader.read(65536)
                if not data:
                    if received == 0:
                        raise _NothingBack()
                    raise httpx.RemoteProtocolError(
                        "the service closed the connection mid-answer", request=request
                    )
                received += len(data)
                answer.parser.feed_data(data)
    except TimeoutError:
        raise httpx.ReadTimeout("the service did not answer in time", request=request) from None
    except httptools.HttpParserError as exc:
        raise httpx.RemoteProtocolError(f"malformed answer: {exc}", request=request) from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc) or "the connection failed while reading", request=request) from exc
    return answer
