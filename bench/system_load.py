"""Benchmarks of the running system (issue: Proof), each beside its baseline in the same run.

- ingest: signed 12345 calls per second through the gateway vs a bare FastAPI + asyncpg endpoint
  doing one INSERT (bench/baseline_app.py) on the same PostgreSQL, same client, same concurrency;
- latency: p50/p99 of hotline calls at a fixed rate;
- status polls: public status with If-None-Match at a fixed rate: p99 and the share of 304;
- received -> triaged: server-side time between the two timeline entries, p50/p95.

Prints one JSON object. Run: `.venv/bin/python -m bench.system_load` (a few minutes; starts its
own `guanjia up` on embedded servers in a temporary directory and stops it after).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.system.harness import RunningSystem, db_scalar, hotline_body, signed_headers, start_system

SECRET = secrets.token_hex(16)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def saturate(url: str, make: Any, seconds: float, concurrency: int) -> dict[str, float]:
    """Closed loop: `concurrency` clients send as fast as answers come back."""
    done = 0
    errors = 0
    stop_at = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop_at:
                body, headers = make()
                r = await client.post(url, content=body, headers=headers)
                if r.status_code in (200, 202):
                    done += 1
                else:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - start
    return {"per_s": round(done / elapsed, 1), "errors": errors}


async def fixed_rate(send: Any, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: start a request every 1/rate s regardless of answers.

    Returns the latencies (ms) of answered requests and the number that failed outright.
    """
    latencies: list[float] = []
    failures = 0
    tasks = []

    async def one() -> None:
        nonlocal failures
        t0 = time.perf_counter()
        try:
            await send()
        except httpx.HTTPError:
            failures += 1
            return
        latencies.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, failures


def hotline_request(base: str) -> Any:
    def make() -> tuple[bytes, dict[str, str]]:
        body = hotline_body(f"bench-{uuid.uuid4()}")
        return body, signed_headers(SECRET, body)

    return make


def start_baseline(dsn: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BENCH_BASELINE_DSN": dsn}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/docs", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, url


async def measure(system: RunningSystem, baseline_url: str, seconds: float) -> dict[str, Any]:
    hotline = system.base_url + "/api/v1/channels/hotline-12345/calls"
    results: dict[str, Any] = {}

    # Ingest, gateway vs bare baseline, same client and concurrency.
    base = await saturate(baseline_url + "/ingest", hotline_request(baseline_url), seconds, 16)
    ours = await saturate(hotline, hotline_request(system.base_url), seconds, 16)
    results["ingest"] = {
        "ours_per_s": ours["per_s"],
        "baseline_per_s": base["per_s"],
        "ratio_to_baseline": round(ours["per_s"] / base["per_s"], 3) if base["per_s"] else None,
        "errors": ours["errors"],
        "target_ratio": 0.5,
    }

    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def call() -> None:
            body = hotline_body(f"bench-rate-{uuid.uuid4()}")
            await client.post(hotline, content=body, headers=signed_headers(SECRET, body))

        lat, failed = await fixed_rate(call, rate=50, seconds=seconds)
        results["ingest_latency_at_50_per_s"] = {
            "p50_ms": round(percentile(lat, 50), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "failed": failed,
        }

        # Status polling with ETag: dashboards and residents re-asking about the same appeals.
        body = hotline_body(f"bench-status-{uuid.uuid4()}")
        for _ in range(30):  # the backlog of the ingest phase may still be draining
            answer = await client.post(hotline, content=body, headers=signed_headers(SECRET, body))
            if answer.status_code in (200, 202):
                break
            await asyncio.sleep(1)
        answer.raise_for_status()
        accepted = answer.json()
        await asyncio.sleep(3)  # let it settle so the ETag is stable
        url = f"{system.base_url}/api/v1/public/appeals/{accepted['ticket_no']}"
        first = await client.get(url, params={"code": accepted["query_code"]})
        etag = first.headers["etag"]
        codes: list[int] = []

        async def poll() -> None:
            r = await client.get(
                url, params={"code": accepted["query_code"]}, headers={"If-None-Match": etag}
            )
            codes.append(r.status_code)

        lat, failed = await fixed_rate(poll, rate=500, seconds=seconds)
        results["status_poll_at_500_per_s"] = {
            "p50_ms": round(percentile(lat, 50), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "share_304": round(codes.count(304) / len(codes), 3) if codes else None,
            "failed": failed,
            "target_p99_ms": 20,
        }

    # Received -> triaged, measured on the server's own timeline.
    delays = db_scalar(
        "SELECT array_agg(EXTRACT(EPOCH FROM t.at - r.at)) FROM intake.timeline r "
        "JOIN intake.timeline t ON t.appeal_id = r.appeal_id AND t.to_status = 'triaged' "
        "WHERE r.to_status = 'received'"
    )
    ms = [float(d) * 1000 for d in (delays or [])]
    results["received_to_triaged"] = {
        "appeals": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "target_p95_ms": 1000,
    }
    return results


def main(seconds: float = 20.0) -> dict[str, Any]:
    """Start the system and the baseline, measure, stop both."""
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        os.environ["GUANJIA_HOTLINE_SECRET"] = SECRET
        # The limiter guards the public edge against abuse; the benchmark is one client by design.
        os.environ["GUANJIA_RATE_PUBLIC"] = "1000000/60"
        system = start_system(Path(tmp), embedded=True)
        try:
            dsn = (Path(tmp) / "pg").as_posix()
            baseline, baseline_url = start_baseline(f"postgresql://postgres@/guanjia?host={dsn}")
            os.environ["DATABASE_URL"] = f"postgresql://postgres@/guanjia?host={dsn}"
            try:
                results = asyncio.run(measure(system, baseline_url, seconds))
            finally:
                baseline.terminate()
                baseline.wait()
        finally:
            system.stop()
    return {"benchmark": "system_load", "cores": os.cpu_count(), "seconds_per_phase": seconds, **results}


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0), ensure_ascii=False))
