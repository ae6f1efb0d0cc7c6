"""The transport of the calls between our services (services.common.http_client), against a local
HTTP/1.1 server that counts its connections and can misbehave as a failing service does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from services.common.http_client import LeanTransport

Answer = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """Reads each request (head and Content-Length body) and hands it to `answer`, which writes
    the response and says whether to keep the connection open."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if not await self.answer(head + body, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Serve = Callable[[Answer], Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> Server:
        server = Server(answer)
        listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
        servers.append(listening)
        server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        return server

    yield start
    for listening in servers:
        listening.close()


def reply(status: int, body: bytes = b"", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n%s\r\n" % (status, len(body), extra) + body


async def echo(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """201 with the request's body back, and the request line in a header."""
    head, _, body = request.partition(b"\r\n\r\n")
    writer.write(reply(201, body, b"x-line: " + head.split(b"\r\n")[0] + b"\r\n"))
    await writer.drain()
    return True


def client(server: Server, transport: LeanTransport | None = None, **timeouts: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url,
        transport=transport or LeanTransport(),
        timeout=httpx.Timeout(timeouts.pop("read", 5.0), **timeouts),
    )


async def test_a_request_and_its_answer_cross_whole_and_the_connection_is_kept(serve: Serve) -> None:
    server = await serve(echo)
    async with client(server) as http:
        for n in range(5):
            answer = await http.post("/internal/appeals?x=1", json={"n": n, "words": "路灯坏了"})
            assert answer.status_code == 201
            assert answer.json() == {"n": n, "words": "路灯坏了"}
            assert answer.headers["x-line"] == "POST /internal/appeals?x=1 HTTP/1.1"
    assert server.connections == 1
    assert b"content-type: application/json" in server.requests[0].lower()


async def test_a_chunked_answer_and_an_answer_without_body_are_read_to_their_end(serve: Serve) -> None:
    async def varied(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if request.startswith(b"GET /chunked"):
            writer.write(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n\xe8\xb7\xaf\xe7\r\n2\r\n\x81\xaf\r\n0\r\n\r\n"
            )
        elif request.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n")  # no body follows a HEAD
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        return True

    server = await serve(varied)
    async with client(server) as http:
        assert (await http.get("/chunked")).text == "路灯"
        assert (await http.delete("/gone")).status_code == 204
        head = await http.head("/anything")
        assert head.status_code == 200 and head.content == b""
        assert (await http.get("/chunked")).text == "路灯"


async def test_calls_in_flight_never_open_more_than_the_limit(serve: Serve) -> None:
    async def slow(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        return await echo(request, reader, writer)

    server = await serve(slow)
    async with client(server, LeanTransport(max_connections=3)) as http:
        answers = await asyncio.gather(*[http.post("/x", content=b"%d" % n) for n in range(30)])
    assert sorted(int(a.content) for a in answers) == list(range(30))
    assert server.connections == 3


async def test_a_full_pool_is_a_pool_timeout_never_sent(serve: Serve) -> None:
    release = asyncio.Event()

    async def held(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        return await echo(request, reader, writer)

    server = await serve(held)
    async with client(server, LeanTransport(max_connections=1), pool=0.1) as http:
        first = asyncio.create_task(http.post("/x", content=b"1"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await http.post("/x", content=b"2")
        release.set()
        assert (await first).content == b"1"
    assert len(server.requests) == 1


async def test_no_service_listening_is_a_connect_error() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", transport=LeanTransport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/")


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("hang up", httpx.RemoteProtocolError),
        ("half answer", httpx.RemoteProtocolError),
        ("silence", httpx.ReadTimeout),
    ],
)
async def test_an_answer_lost_after_sending_is_a_transport_error_of_its_kind(
    serve: Serve, behaviour: str, error: type
) -> None:
    async def failing(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if behaviour == "half answer":
            writer.write(b"HTTP/1.1 201 X\r\ncontent-length: 10\r\n\r\nabc")
            await writer.drain()
        elif behaviour == "silence":
            await asyncio.sleep(1)
        return False

    server = await serve(failing)
    async with client(server, read=0.2) as http:
        with pytest.raises(error) as raised:
            await http.post("/internal/appeals", content=b"{}")
    # Sent: not one of the errors that mean "never sent" (the gateway asks again, or answers 503).
    assert not isinstance(raised.value, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    assert len(server.requests) == 1


async def test_a_connection_the_service_closed_while_idle_is_not_used_again(serve: Serve) -> None:
    async def once(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await echo(request, reader, writer)
        return False  # as uvicorn does after its keep-alive timeout

    server = await serve(once)
    async with client(server) as http:
        assert (await http.post("/x", content=b"1")).content == b"1"
        await asyncio.sleep(0.05)  # the close reaches us
        assert (await http.post("/x", content=b"2")).content == b"2"
    assert server.connections == 2


async def test_a_read_that_meets_the_keepalive_race_is_sent_again_on_a_new_connection(serve: Serve) -> None:
    answered = 0

    async def drop_second(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        nonlocal answered
        if answered == 1:
            answered += 1
            return False  # closed as the request arrived: nothing answered
        answered += 1
        return await echo(request, reader, writer)

    server = await serve(drop_second)
    async with client(server) as http:
        assert (await http.get("/a")).status_code == 201
        assert (await http.get("/b")).status_code == 201
    assert server.connections == 2 and len(server.requests) == 3


def test_one_transport_serves_one_event_loop_after_another() -> None:
    transport = LeanTransport()

    async def round_trip() -> int:
        listening = await asyncio.start_server(Server(echo)._serve, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(transport=transport) as http:
            status = (await http.post(f"http://127.0.0.1:{port}/x", content=b"1")).status_code
        listening.close()
        return status

    assert asyncio.run(round_trip()) == 201
    assert asyncio.run(round_trip()) == 201


@pytest.mark.parametrize("apart", [False, True])
async def test_an_answer_nobody_asked_for_is_never_taken_for_the_next_one(serve: Serve, apart: bool) -> None:
    async def twice(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply(201, b"asked"))
        if apart:
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(reply(500, b"stray"))
        await writer.drain()
        return True

    server = await serve(twice)
    async with client(server) as http:
        assert (await http.get("/a")).content == b"asked"
        await asyncio.sleep(0.1)  # the stray answer has arrived, whichever way it came
        assert (await http.get("/b")).content == b"asked"
    assert server.connections == 2
