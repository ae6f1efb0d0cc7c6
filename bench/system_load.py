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
import contextlib
import csv
import itertools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
import redis
import yaml

from bench import rawhttp
from services.common.queue import FIRST_LANE, queue_name
from tests.system.harness import RunningSystem, db_scalar, hotline_body, signed_headers, start_system

SECRET = secrets.token_hex(16)
# What callers say: the 754 labelled appeals of routing/data (every kind, category and town, in
# the many ways residents put things), each said once, from its own number, in a shuffled order.
# One call repeated would be linked as a duplicate of the first and never triaged: not the load a
# city sends.
APPEALS = [
    str(item["text"])
    for source in sorted(Path("routing/data").rglob("*.yaml"))
    for item in yaml.safe_load(source.read_text("utf-8")) or []
    if isinstance(item, dict) and item.get("text")
]
random.shuffle(APPEALS)
_unsaid = itertools.cycle(APPEALS)
# Where the operator notes the caller is: a real village or community of the 33 towns.
_REFERENCE = Path("services/common/reference")
_TOWNS = {t["code"]: t["full_name"] for t in json.loads((_REFERENCE / "towns.json").read_text("utf-8"))}
PLACES = [
    f"东莞市{_TOWNS[row['town_code']]}{row['name']}"
    for row in csv.DictReader((_REFERENCE / "villages.csv").read_text("utf-8").splitlines())
]


def city_call(call_id: str) -> bytes:
    """A realistic 12345 call: one of the held-out appeals, from a random mobile number."""
    text = next(_unsaid)
    return hotline_body(
        call_id,
        caller_number=f"13{random.randrange(10**9):09d}",
        transcript=[
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {"speaker": "caller", "text": text, "offset_ms": 2500},
        ],
        summary=text,
        category_hint=None,
        address=random.choice(PLACES),
    )


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

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    # How much of a core the load generator itself used: near 1, it bounds the rate it measures.
    return {"per_s": round(done / elapsed, 1), "errors": errors, "client_cores": round(cpu / elapsed, 2)}


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
        body = city_call(f"bench-{uuid.uuid4()}")
        return body, signed_headers(SECRET, body)

    return make


def start_baseline(
    dsn: str, *, relay_to: str | None = None, processes: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """A bare baseline process (`bench/baseline_app.py`) and its URL; with `relay_to`, a bare
    relay to that baseline; with `processes` above 1, that many on one port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BENCH_BASELINE_DSN": dsn, **({"BENCH_RELAY_TO": relay_to} if relay_to else {})}
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
            *(["--workers", str(processes)] if processes > 1 else []),
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


LATENCY_RATE = 10


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes `pids` have used so far; 0 for one gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def settle(system: RunningSystem, limit_s: float = 120) -> float:
    """Wait until the system's processes are back to their idle floor (their queues polled, about
    0.08 of a core here) for a second: the workers load their models after `/readyz` answers, and
    the baseline's phase, which comes first, must not share the cores with that. Returns the
    seconds it took."""
    started = time.perf_counter()
    pids = system.child_pids()
    while time.perf_counter() - started < limit_s:
        before = cpu_seconds(pids)
        time.sleep(1)
        if cpu_seconds(pids) - before < 0.15:
            break
    return round(time.perf_counter() - started, 1)


SERVICES = ("gateway", "intake", "routing", "deadlines", "ledger")


async def drain(system: RunningSystem, limit_s: float = 180) -> float:
    """Wait until every outbox is relayed and every arq queue is empty, twice in a row: a phase
    must not pay for the previous one's backlog. Returns the seconds it took."""
    started = time.perf_counter()
    unpublished = " + ".join(
        f"(SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL)" for schema in SERVICES
    )
    queues = redis.Redis(unix_socket_path=str(system.data_dir / "redis" / "redis.sock"))

    def backlog() -> int:
        queued = 0
        # Jobs due now: a cron's next run (intake folds its counters every second) waits in the
        # queue with a future score and is no backlog.
        now_ms = int(time.time() * 1000)
        for service in SERVICES:
            for queue in (queue_name(service), queue_name(service, lane=FIRST_LANE)):
                queued += cast(int, queues.zcount(queue, "-inf", now_ms))
        return queued + int(db_scalar(f"SELECT {unpublished}") or 0)

    quiet = 0
    while time.perf_counter() - started < limit_s and quiet < 2:
        quiet = quiet + 1 if await asyncio.to_thread(backlog) == 0 else 0
        await asyncio.sleep(1)
    queues.close()
    return round(time.perf_counter() - started, 1)


PHASES = ("ingest", "latency")


async def measure(
    system: RunningSystem,
    baseline_url: str,
    seconds: float,
    phases: tuple[str, ...] = PHASES,
    workers: int = 1,
) -> dict[str, Any]:
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
        # The cores the load generator used in each phase (the same client for both).
        "client_cores": {"ours": ours["client_cores"], "baseline": base["client_cores"]},
    }
    if not workers:
        return results  # nothing would drain the backlog
    results["ingest"]["backlog_drained_s"] = await drain(system)
    if "latency" not in phases:
        return results

    # Several small pools: one pool with hundreds of queued requests spends the client's CPU on
    # httpcore's connection bookkeeping (quadratic in the queue), which the server then pays for.
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with contextlib.AsyncExitStack() as stack:
        pool = [
            await stack.enter_async_context(httpx.AsyncClient(timeout=30, limits=limits)) for _ in range(16)
        ]
        turn = itertools.cycle(pool)
        client = pool[0]

        filed: list[dict[str, Any]] = []

        async def call() -> None:
            body = city_call(f"bench-rate-{uuid.uuid4()}")
            r = await next(turn).post(hotline, content=body, headers=signed_headers(SECRET, body))
            if r.status_code == 202:
                filed.append(r.json())

        # A rate the system sustains on this machine (the saturation phase shows its ceiling): a
        # latency measured above the ceiling only measures the queue.
        lat, failed = await fixed_rate(call, rate=LATENCY_RATE, seconds=seconds)
        results["ingest_latency_at_fixed_rate"] = {
            "rate_per_s": LATENCY_RATE,
            "p50_ms": round(percentile(lat, 50), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "failed": failed,
        }
        await drain(system)

        # Status polling with ETag: dashboards and residents re-asking about the appeals they
        # follow (the fixed-rate phase's, each with its own query code and ETag), round robin.
        await asyncio.sleep(3)  # let triage and the first deadlines land so the ETags are stable
        followed: list[tuple[bytes, str]] = []
        for a in filed[:100]:
            path = f"/api/v1/public/appeals/{a['ticket_no']}?code={a['query_code']}"
            first = await client.get(system.base_url + path)
            if first.status_code == 200:
                followed.append((rawhttp.get_request(system.base_url + path), first.headers["etag"]))
        requests = [req[:-2] + f"If-None-Match: {etag}\r\n\r\n".encode() for req, etag in followed]
        # The target rate, and a lower one beside it: one gateway process shares these two
        # cores with the load generator, so where its ceiling lies shows between the two.
        for rate in (200, 500):
            polled = await rawhttp.fixed_rate(system.base_url, requests, rate=rate, seconds=seconds)
            results[f"status_poll_at_{rate}_per_s"] = {
                "appeals_followed": len(requests),
                "p50_ms": round(percentile(polled.latencies_ms, 50), 1),
                "p99_ms": round(percentile(polled.latencies_ms, 99), 1),
                "share_304": round(polled.statuses.count(304) / len(polled.statuses), 3)
                if polled.statuses
                else None,
                "failed": polled.failed,
                "target_p99_ms": 20,
            }
            await asyncio.sleep(5)  # the next rate starts from an empty queue

    # Received -> triaged, measured on the server's own timeline, for the calls of the fixed-rate
    # phase: the saturation phase's backlog measures the queue we filled on purpose, not triage.
    delays = await asyncio.to_thread(  # db_scalar runs its own event loop
        db_scalar,
        "SELECT array_agg(EXTRACT(EPOCH FROM t.at - r.at)) FROM intake.timeline r "
        "JOIN intake.appeals a ON a.id = r.appeal_id AND a.channel_ref LIKE 'bench-rate-%' "
        "JOIN intake.timeline t ON t.appeal_id = r.appeal_id AND t.to_status = 'triaged' "
        "WHERE r.to_status = 'received'",
    )
    ms = [float(d) * 1000 for d in (delays or [])]
    results["received_to_triaged"] = {
        "appeals": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "target_p95_ms": 1000,
    }
    return results


def main(seconds: float = 20.0, phases: tuple[str, ...] = PHASES, workers: int = 1) -> dict[str, Any]:
    """Start the system and the baseline, measure, stop both. `phases=("ingest",)` measures only
    ingest against its baseline (a minute instead of several). `workers=0` starts no worker
    process, so ingest measures the path a caller waits on alone, with the two cores to itself
    (what the follow-up work's share of them costs a burst is the difference); only ingest then
    (`measure` stops there: nothing would drain the backlog)."""
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        os.environ["GUANJIA_HOTLINE_SECRET"] = SECRET
        # The limiter guards the public edge against abuse; the benchmark is one client by design.
        os.environ["GUANJIA_RATE_PUBLIC"] = "1000000/60"
        system = start_system(Path(tmp), embedded=True, workers=workers)
        try:
            settled_s = settle(system)
            dsn = (Path(tmp) / "pg").as_posix()
            baseline, baseline_url = start_baseline(f"postgresql://postgres@/guanjia?host={dsn}")
            os.environ["DATABASE_URL"] = f"postgresql://postgres@/guanjia?host={dsn}"
            try:
                results = asyncio.run(measure(system, baseline_url, seconds, phases, workers))
            finally:
                baseline.terminate()
                baseline.wait()
        finally:
            system.stop()
    return {
        "benchmark": "system_load",
        "cores": os.cpu_count(),
        "seconds_per_phase": seconds,
        "workers_per_service": workers,
        "settled_s": settled_s,
        **results,
    }


if __name__ == "__main__":
    # python -m bench.system_load [SECONDS [PHASES [WORKERS]]]
    chosen = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else PHASES
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(
        json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, chosen, count), ensure_ascii=False)
    )
