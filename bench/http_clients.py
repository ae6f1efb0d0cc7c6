"""The gateway's calls to a service: its lean transport against httpx's own client.

The gateway sends its calls to our services as httpx requests on `LeanTransport`
(`services.common.http_client`, through `services.gateway.service.client.call`). This measures
the client-side CPU per call of that path and of one plain `httpx.AsyncClient` (the baseline)
against the same local uvicorn endpoint (a `201` with a small JSON body, as intake answers a
recording), at 1, 4 and 16 calls in flight, twice each, interleaved. Prints one JSON object.
Run: `.venv/bin/python -m bench.http_clients`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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

Send = Callable[[], Awaitable[int]]


async def cpu_per_call(send: Send, in_flight: int) -> float:
    """Client CPU in microseconds per call, `in_flight` calls at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            assert await send() == 201

    await asyncio.gather(*[one() for _ in range(200)])  # warm: connections open
    started = time.process_time()
    await asyncio.gather(*[one() for _ in range(CALLS)])
    return (time.process_time() - started) / CALLS * 1e6


async def measure(url: str) -> dict[str, Any]:
    os.environ["GUANJIA_LEDGER_URL"] = url
    # The gateway's call signs a service token, as in the system (the tiny service ignores it).
    os.environ.setdefault("GUANJIA_INTERNAL_SECRET", secrets.token_hex(32))
    get_settings.cache_clear()

    async def gateway() -> int:
        return (await gateway_client.call("ledger", "POST", "/internal/appeals", json=DRAFT)).status_code

    results: dict[str, Any] = {}
    for in_flight in (1, 4, 16):
        plain: list[float] = []
        ours: list[float] = []
        for _ in range(2):
            async with httpx.AsyncClient(base_url=url) as one_client:

                async def httpx_client(one_client: httpx.AsyncClient = one_client) -> int:
                    return (await one_client.post("/internal/appeals", json=DRAFT)).status_code

                plain.append(await cpu_per_call(httpx_client, in_flight))
            ours.append(await cpu_per_call(gateway, in_flight))
            await gateway_client.close_clients()
        results[f"in_flight_{in_flight}"] = {
            "httpx_client_us": round(min(plain), 1),
            "gateway_us": round(min(ours), 1),
            "ratio_to_httpx_client": round(min(ours) / min(plain), 3),
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
        "calls": CALLS,
        **results,
    }


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False))
