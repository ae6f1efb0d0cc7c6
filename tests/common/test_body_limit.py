"""Request bodies are capped before they are read whole (issue 15.6): a declared Content-Length
over the cap is refused without reading a byte, a streamed body as soon as it passes the cap, both
as a `413 body_too_large` problem; a route given a larger cap takes more."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter, Request

from services.common.app import create_service_app

router = APIRouter()


@router.post("/small")
async def small(request: Request) -> dict[str, int]:
    return {"read": len(await request.body())}


@router.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    return {"read": len(await request.body())}


@router.post("/typed")
async def typed(body: dict[str, str]) -> dict[str, int]:
    return {"fields": len(body)}


def client() -> httpx.AsyncClient:
    app = create_service_app(
        "probe", [router], title="probe", max_body=1000, max_body_per_path={"/upload": 5000}
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")


def assert_413(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "body_too_large" and "过大" in r.json()["detail"]
    assert r.headers["x-request-id"]


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    pulled: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(100):
            pulled.append(1)
            yield b"x" * 100

    async with client() as c:
        r = await c.post("/small", content=stream(), headers={"Content-Length": "10000"})
    assert_413(r)
    assert pulled == []


async def test_a_streamed_body_is_refused_once_it_passes_the_cap() -> None:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(30):
            yield b"x" * 100

    async with client() as c:
        chunked = await c.post("/small", content=stream())
        typed = await c.post("/typed", content=stream(), headers={"Content-Type": "application/json"})
    assert_413(chunked)
    assert_413(typed)


async def test_bodies_within_their_cap_pass_and_a_route_may_take_more() -> None:
    async with client() as c:
        ok = await c.post("/small", content=b"x" * 1000)
        big = await c.post("/upload", content=b"x" * 4000)
        too_big = await c.post("/upload", content=b"x" * 5001)
    assert ok.status_code == 200 and ok.json() == {"read": 1000}
    assert big.status_code == 200 and big.json() == {"read": 4000}
    assert_413(too_big)
