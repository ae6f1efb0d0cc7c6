"""The embedded default as a fresh machine runs it: `guanjia up` with no DATABASE_URL / REDIS_URL."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from tests.system.harness import RunningSystem, embedded_data_dir, hotline_body, signed_headers, start_system


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _server_pids(data_dir: Path) -> list[int]:
    pg = int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
    redis = int((data_dir / "redis" / "redis.pid").read_text().strip())
    return [pg, redis]


def _open_to_others(data_dir: Path) -> list[str]:
    """What `up` created that anyone but its owner can read (PostgreSQL's directory aside, 0700)."""
    wide = []
    if data_dir.stat().st_mode & 0o077 & ~(0o011 if os.geteuid() == 0 else 0):
        wide.append(f"{data_dir} {data_dir.stat().st_mode & 0o777:o}")
    for path in data_dir.rglob("*"):
        if path.is_relative_to(data_dir / "pg") or path.is_symlink() or path.is_socket():
            continue
        if path.name == "up.log":  # the test's own capture of up's output
            continue
        if path.stat().st_mode & 0o077:
            wide.append(f"{path} {path.stat().st_mode & 0o777:o}")
    return wide


def _embedded_rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows from the embedded PostgreSQL, over its socket in the data directory."""

    async def run() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(host=str(data_dir / "pg"), user="postgres", database="postgres")
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def _room_for_every_pool(data_dir: Path, processes: int) -> None:
    from services.common import connections
    from services.common.connections import Pool
    from services.common.settings import Settings

    defaults = Settings()
    pool = Pool(defaults.db_pool_size, defaults.db_max_overflow)
    [(limit,)] = _embedded_rows(data_dir, "SHOW max_connections")
    assert int(str(limit)) >= connections.needed(processes, pool) > 100, limit
    # Each child's connections say whose they are.
    names = {
        str(n) for (n,) in _embedded_rows(data_dir, "SELECT DISTINCT application_name FROM pg_stat_activity")
    }
    assert "guanjia intake" in names and any(n.startswith("guanjia gateway") for n in names), names


def _scheduling(pid: int) -> tuple[int, int]:
    return os.sched_getscheduler(pid), os.getpriority(os.PRIO_PROCESS, pid)


def _requests_come_first(system: RunningSystem) -> None:
    """The services answering requests run as ordinary processes; the first lanes (triage) behind
    them at the configured niceness; the follow-up workers under SCHED_IDLE, behind everything.
    A worker sets its own on start-up, so it is given a little while."""
    pids = system.children()
    followers = [n for n in pids if "-worker-" in n]
    lanes = [n for n in pids if "-first-" in n]
    serving = [n for n in pids if n not in followers + lanes]
    assert len(followers) == 5 and len(lanes) == 2 and "intake" in serving
    base = os.getpriority(os.PRIO_PROCESS, 0)  # children start at this test's niceness
    expected = {
        **{n: (os.SCHED_IDLE, min(19, base + 10)) for n in followers},
        **{n: (os.SCHED_OTHER, 19) for n in lanes},
        **{n: (os.SCHED_OTHER, base) for n in serving},
    }
    deadline = time.monotonic() + 60
    while True:
        seen = {n: _scheduling(pids[n]) for n in expected}
        if seen == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert seen == expected


def test_up_on_embedded_servers_stops_clean_and_keeps_data() -> None:
    with embedded_data_dir("embedded") as data_dir:
        _up_stops_clean_and_keeps_data(data_dir)


def _up_stops_clean_and_keeps_data(tmp_path: Path) -> None:
    secret = os.environ["GUANJIA_HOTLINE_SECRET"]
    system = start_system(tmp_path, embedded=True)
    try:
        assert (tmp_path / "secrets.env").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "admin-password.txt").exists()
        assert list((tmp_path / "logs").glob("*.log")) and list((tmp_path / "redis").rglob("*.aof"))
        assert _open_to_others(tmp_path) == []
        body = hotline_body(f"call-{uuid.uuid4()}")
        r = httpx.post(
            f"{system.base_url}/api/v1/channels/hotline-12345/calls",
            content=body,
            headers=signed_headers(secret, body),
            timeout=10,
        )
        assert r.status_code == 202, r.text
        accepted = r.json()
        servers = _server_pids(tmp_path)
        children = system.child_pids()
        _requests_come_first(system)
        # Room for every process's pool at its fullest: the first start raised the server's limit
        # (and restarted it, which the pids just read and the clean stop below account for).
        _room_for_every_pool(tmp_path, len(children))
    finally:
        assert system.stop() == 0

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in servers + children):
        time.sleep(0.2)
    assert not [p for p in servers + children if _alive(p)], "something outlived guanjia up"
    assert _open_to_others(tmp_path) == []  # Redis' snapshot on shutdown included

    again = start_system(tmp_path, embedded=True)
    try:
        status = httpx.get(
            f"{again.base_url}/api/v1/public/appeals/{accepted['ticket_no']}",
            params={"code": accepted["query_code"]},
            timeout=10,
        )
        assert status.status_code == 200
        assert status.json()["ticket_no"] == accepted["ticket_no"]
    finally:
        again.stop()
