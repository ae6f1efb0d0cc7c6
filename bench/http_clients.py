"""The gateway's calls to a service: one httpx client against the gateway's spread of small ones.

httpcore's pool walks every connection it holds at each request's start and end (and polls each
idle socket), so one client's CPU per call grows with the calls it has in flight. The gateway
spreads its calls to a service over `CLIENTS_PER_SERVICE` clients, each call on the least busy
(`services.gateway.service.client._leased`). This measures the client-side CPU per call of both
against the same local uvicorn endpoint (a `201` with a small JSON body, as intake answers a
recording), at 1, 4 and 16 calls in flight, twice each, interleaved; the baseline is the single
client of the same run. Prints one JSON object. Run: `.venv/bin/python -m bench.http_clients`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx

from services.common.settings import get_settings
from services.gateway.service import client as gateway_client

CALLS = 3000
APP = """
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/internal/appeals")
async def record(request: Request) -> Response:
    await request.body()
    return Response(b'{"appeal_id": "x", "ticket_no": "MS2026120700001"}', media_type="application/json", status_code=201)
"""
# What the gateway sends intake for a call: a draft of about this size.
DRAFT = {
    "channel": "hotline_12345",
    "description": "大街上的路灯坏了好几盏，晚上黑漆漆的。" * 12,
    "extra": list(range(40)),
}

Lease = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


async def cpu_per_call(lease: Lease, in_flight: int) -> float:
    """Client CPU in microseconds per call, `in_flight` calls at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate, lease() as client:
            r = await client.post("/internal/appeals", json=DRAFT)
            assert r.status_code == 201

    await asyncio.gather(*[one() for _ in range(200)])  # warm: connections open
    started = time.process_time()
    await asyncio.gather(*[one() for _ in range(CALLS)])
    return (time.process_time() - started) / CALLS * 1e6


async def measure(url: str) -> dict[str, Any]:
    os.environ["GUANJIA_LEDGER_URL"] = url
    get_settings.cache_clear()
    results: dict[str, Any] = {}
    for in_flight in (1, 4, 16):
        single: list[float] = []
        spread: list[float] = []
        for _ in range(2):
            async with httpx.AsyncClient(base_url=url) as one_client:

                @contextlib.asynccontextmanager
                async def alone() -> AsyncIterator[httpx.AsyncClient]:
                    yield one_client

                single.append(await cpu_per_call(alone, in_flight))
            await gateway_client.close_clients()
            spread.append(await cpu_per_call(lambda: gateway_client._leased("ledger"), in_flight))
            await gateway_client.close_clients()
        results[f"in_flight_{in_flight}"] = {
            "one_client_us": round(min(single), 1),
            "spread_us": round(min(spread), 1),
            "ratio_to_one_client": round(min(spread) / min(single), 3),
        }
    return results


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="guanjia-clients-") as tmp:
        (Path(tmp) / "tiny_service.py").write_text(APP, "utf-8")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tiny_service:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=tmp,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    httpx.post(url + "/internal/appeals", timeout=1)
                    break
                time.sleep(0.1)
            results = asyncio.run(measure(url))
        finally:
            server.terminate()
            server.wait()
    return {
        "benchmark": "http_clients",
        "clients_per_service": gateway_client.CLIENTS_PER_SERVICE,
        "calls": CALLS,
        **results,
    }


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False))
