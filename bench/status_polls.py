"""Benchmark: public status polls with `If-None-Match` (issue 14.4), beside a bare baseline.

Starts its own `guanjia up` on embedded servers in a temporary directory (gateway processes as
`up` chooses, `GUANJIA_GATEWAY_PROCESSES`), files 100 signed hotline calls, waits until their
public statuses stop changing (triage, first clocks), then polls them round robin with their ETags
at 200 and 500 a second (`bench/rawhttp.py`, an open-loop keep-alive client): p50 / p99 ms and the
share of `304`. Baseline, in the same run on the same PostgreSQL: a bare FastAPI + asyncpg endpoint
(`bench/baseline_app.py`) reading one row by primary key and answering `304` on a matching ETag,
polled the same way at 500/s.

Prints JSON. Run: `.venv/bin/python -m bench.status_polls [seconds per phase]` (about two minutes).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import rawhttp
from bench.system_load import city_call, percentile, start_baseline
from tests.system.harness import signed_headers, start_system

APPEALS = 100
RATES = (200, 500)
SETTLE_S = 60.0


def summary(result: rawhttp.Result, rate: int) -> dict[str, Any]:
    """p50 / p99 and the share of 304 of one fixed-rate phase."""
    statuses = result.statuses
    return {
        "rate_per_s": rate,
        "p50_ms": round(percentile(result.latencies_ms, 50), 2),
        "p99_ms": round(percentile(result.latencies_ms, 99), 2),
        "share_304": round(statuses.count(304) / len(statuses), 3) if statuses else None,
        "failed": result.failed,
    }


async def settled(
    client: httpx.AsyncClient, base: str, filed: list[dict[str, Any]]
) -> list[tuple[bytes, str]]:
    """Each followed appeal's poll request with its ETag, once two rounds a second apart agree."""
    deadline = time.monotonic() + SETTLE_S
    previous: dict[str, str] = {}
    while True:
        current: dict[str, str] = {}
        for a in filed:
            r = await client.get(
                f"{base}/api/v1/public/appeals/{a['ticket_no']}", params={"code": a["query_code"]}
            )
            if r.status_code == 200:
                current[a["ticket_no"]] = r.headers["etag"]
        if current == previous or time.monotonic() > deadline:
            break
        previous = current
        await asyncio.sleep(1)
    codes = {a["ticket_no"]: a["query_code"] for a in filed}
    return [
        (
            rawhttp.get_request(f"{base}/api/v1/public/appeals/{t}?code={codes[t]}", {"If-None-Match": etag}),
            etag,
        )
        for t, etag in current.items()
    ]


async def measure(base: str, baseline_url: str, dsn: str, secret: str, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        filed = []
        for _ in range(APPEALS):
            body = city_call(f"bench-poll-{uuid.uuid4()}")
            r = await client.post(
                f"{base}/api/v1/channels/hotline-12345/calls",
                content=body,
                headers=signed_headers(secret, body),
            )
            if r.status_code == 202:
                filed.append(r.json())
        followed = await settled(client, base, filed)

        # The baseline's rows: the same number, bodies of the same size as ours.
        conn = await asyncpg.connect(dsn)
        try:
            sample = (
                await client.get(
                    f"{base}/api/v1/public/appeals/{filed[0]['ticket_no']}",
                    params={"code": filed[0]["query_code"]},
                )
            ).text
            ids = [
                await conn.fetchval(
                    "INSERT INTO bench_baseline (body) VALUES ($1::jsonb) RETURNING id", sample
                )
                for _ in range(len(followed))
            ]
        finally:
            await conn.close()
        bare: list[bytes] = []
        for row_id in ids:
            r = await client.get(f"{baseline_url}/status/{row_id}")
            bare.append(
                rawhttp.get_request(f"{baseline_url}/status/{row_id}", {"If-None-Match": r.headers["etag"]})
            )

    results["appeals_followed"] = len(followed)
    baseline = summary(await rawhttp.fixed_rate(baseline_url, bare, rate=500, seconds=seconds), 500)
    results["baseline_at_500_per_s"] = baseline
    await asyncio.sleep(3)
    for rate in RATES:
        ours = summary(
            await rawhttp.fixed_rate(base, [req for req, _ in followed], rate=rate, seconds=seconds), rate
        )
        if rate == 500:
            ours["p99_ratio_to_baseline"] = (
                round(ours["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None
            )
            ours["target_p99_ms"] = 20
        results[f"ours_at_{rate}_per_s"] = ours
        await asyncio.sleep(3)  # the next phase starts from an empty queue
    return results


def main(seconds: float = 15.0) -> dict[str, Any]:
    """Start the system and the baseline, measure, stop both."""
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        os.environ["GUANJIA_HOTLINE_SECRET"] = secret
        # The limiter guards the public edge against abuse; the benchmark is one client by design.
        os.environ["GUANJIA_RATE_PUBLIC"] = "1000000/60"
        system = start_system(Path(tmp), embedded=True)
        try:
            dsn = f"postgresql://postgres@/guanjia?host={(Path(tmp) / 'pg').as_posix()}"
            baseline, baseline_url = start_baseline(dsn)
            try:
                results = asyncio.run(measure(system.base_url, baseline_url, dsn, secret, seconds))
            finally:
                baseline.terminate()
                baseline.wait()
        finally:
            system.stop()
    return {
        "benchmark": "status_polls",
        "cores": os.cpu_count(),
        "gateway_processes": os.environ.get("GUANJIA_GATEWAY_PROCESSES", "default (one per core, at most 4)"),
        "seconds_per_phase": seconds,
        **results,
    }


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 15.0), ensure_ascii=False))
