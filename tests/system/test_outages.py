"""Outages survived (issue: Proof): Redis down for 30 s, PostgreSQL restarted, the gateway killed
under load, one call sent 100 times at once. Each runs `guanjia up` on its own embedded servers so
the test can stop and start them without touching anyone else's."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.embedded import Embedded
from tests.system.harness import RunningSystem, embedded_data_dir, hotline_body, signed_headers, start_system

SECRET = os.environ["GUANJIA_HOTLINE_SECRET"]
HOTLINE = "/api/v1/channels/hotline-12345/calls"


@pytest.fixture(scope="module")
def system() -> Iterator[RunningSystem]:
    with embedded_data_dir("outage") as data_dir:
        running = start_system(data_dir, embedded=True)
        try:
            yield running
        finally:
            running.stop()


def post(system: RunningSystem, call_id: str, timeout: float = 10) -> httpx.Response:
    body = hotline_body(call_id)
    return httpx.post(
        system.base_url + HOTLINE, content=body, headers=signed_headers(SECRET, body), timeout=timeout
    )


def status(system: RunningSystem, accepted: dict[str, Any]) -> str:
    r = httpx.get(
        f"{system.base_url}/api/v1/public/appeals/{accepted['ticket_no']}",
        params={"code": accepted["query_code"]},
        timeout=10,
    )
    return str(r.json()["status"]) if r.status_code == 200 else f"http {r.status_code}"


def wait_all_past_received(system: RunningSystem, accepted: list[dict[str, Any]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(accepted)
    while pending and time.monotonic() < deadline:
        pending = [a for a in pending if status(system, a) in ("received", "http 503")]
        if pending:
            time.sleep(1)
    assert not pending, f"{len(pending)} appeals never left 'received':\n{system.logs()}"


def _redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "redis.pid").read_text().strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_redis_down_for_30s_loses_nothing(system: RunningSystem) -> None:
    pid = _redis_pid(system.data_dir)
    os.kill(pid, signal.SIGTERM)
    while _alive(pid):
        time.sleep(0.1)
    accepted: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        # At least 30 s down and at least 8 calls taken meanwhile, however slow the machine is.
        while time.monotonic() - started < 30 or len(accepted) < 8:
            r = post(system, f"redis-down-{uuid.uuid4()}", timeout=30)
            # Intake and the gateway need only PostgreSQL to accept an appeal.
            assert r.status_code == 202, r.text
            accepted.append(r.json())
            time.sleep(3)
    finally:
        Embedded(data_dir=system.data_dir).start_redis()
    assert not _alive(pid) and time.monotonic() - started >= 30
    wait_all_past_received(system, accepted, timeout=90)


def test_postgres_restart_is_ridden_out_without_restarting_services(system: RunningSystem) -> None:
    before = {p.name: p.read_text() for p in (system.data_dir / "pids").glob("*.pid")}
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations
    pg_ctl = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / "pg_ctl"
    pgdata = system.data_dir / "pg"
    # Output to the server's log file, not a pipe: the restarted server would inherit the pipe.
    subprocess.run(
        [str(pg_ctl), "-D", str(pgdata), "-l", str(pgdata / "log"), "-w", "-m", "fast", "restart"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        user="pgserver" if os.geteuid() == 0 else None,
    )
    accepted: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(accepted) < 5 and time.monotonic() < deadline:
        r = post(system, f"pg-restart-{uuid.uuid4()}")
        if r.status_code == 202:
            accepted.append(r.json())
        else:
            # At most a brief refusal while pools reconnect: a problem, never a 500.
            assert r.status_code == 503, r.text
            time.sleep(0.5)
    assert len(accepted) == 5
    wait_all_past_received(system, accepted, timeout=60)
    after = {p.name: p.read_text() for p in (system.data_dir / "pids").glob("*.pid")}
    assert after == before, f"a service had to be restarted to recover:\n{system.logs()}"


def test_gateway_killed_under_load_loses_no_accepted_appeal(system: RunningSystem) -> None:
    accepted: dict[str, dict[str, Any]] = {}
    stop = threading.Event()

    def caller() -> None:
        # A hotline client: retry a call until it is acknowledged, as the real one does.
        while not stop.is_set():
            call_id = f"gw-kill-{uuid.uuid4()}"
            for _ in range(60):
                try:
                    r = post(system, call_id, timeout=5)
                    if r.status_code in (200, 202):
                        accepted[call_id] = r.json()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    os.kill(system.pid_of("gateway"), signal.SIGKILL)
    killed_at, before_kill = time.monotonic(), len(accepted)
    # Load goes on across the restart until the new gateway has acknowledged calls too (bounded).
    while (time.monotonic() - killed_at < 6 or len(accepted) < before_kill + 4) and (
        time.monotonic() - killed_at < 120
    ):
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(accepted) >= before_kill + 4, f"the gateway did not come back:\n{system.logs()}"
    # Every acknowledged call is an appeal that goes on through the pipeline.
    wait_all_past_received(system, list(accepted.values()), timeout=90)
    tickets = {a["ticket_no"] for a in accepted.values()}
    assert len(tickets) == len(accepted)


def test_one_call_sent_100_times_at_once_is_one_appeal(system: RunningSystem) -> None:
    body = hotline_body(f"hundred-{uuid.uuid4()}")

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=system.base_url, timeout=60, limits=limits) as ac:
            return await asyncio.gather(
                *[ac.post(HOTLINE, content=body, headers=signed_headers(SECRET, body)) for _ in range(100)]
            )

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} <= {200, 202}, {r.status_code for r in responses}
    assert sum(r.status_code == 202 for r in responses) == 1
    assert len({r.json()["appeal_id"] for r in responses}) == 1
