"""`guanjia up`: the whole system as supervised local processes on its embedded default.

The supervisor starts the gateway (one process per core, sharing its port), the four services
and their workers as children that die with it, restarts a child that exits, waits for the
gateway to be ready and says where everything is; Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from pydantic import TypeAdapter

from services.cli.database import migrate, reference_help, register_counts, seed
from services.common import connections
from services.common.connections import Pool
from services.common.settings import DEFAULT_PORTS, SERVICES, ServiceName, get_settings
from services.contracts.events import TAKEN_FIRST

if TYPE_CHECKING:
    from services.embedded import Embedded

URL_VARS: dict[ServiceName, str] = {
    "intake": "GUANJIA_INTAKE_URL",
    "routing": "GUANJIA_ROUTING_URL",
    "deadlines": "GUANJIA_DEADLINES_URL",
    "ledger": "GUANJIA_LEDGER_URL",
}


def _die_with_parent() -> None:
    # Children get SIGTERM if `up` dies without cleaning up, so nothing is orphaned.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """Runs the gateway, the four services and their workers as local processes."""

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str], log_dir: Path) -> None:
        self.commands = commands
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, float] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        log_dir = self.log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.procs[name] = subprocess.Popen(
            self.commands[name],
            # Its connections carry its name (`application_name`), so pg_stat_activity says who
            # holds them.
            env={**self.env, "GUANJIA_PROCESS": f"guanjia {name}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        # Operators (and the fault tests) find a child by name.
        pid_dir = log_dir.parent / "pids"
        pid_dir.mkdir(parents=True, exist_ok=True)
        (pid_dir / f"{name}.pid").write_text(str(self.procs[name].pid))

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def watch(self) -> None:
        """Restart a child that died (at most every 2 s), until asked to stop."""
        for name, proc in list(self.procs.items()):
            dead = proc.poll() is not None and not self.stopping
            if dead and time.monotonic() - self.restarts.get(name, 0.0) > 2:
                print(f"[guanjia] {name} exited with {proc.returncode}; restarting", flush=True)
                self.restarts[name] = time.monotonic()
                self.start(name)

    def stop_all(self, timeout: float = 15.0) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _internal_env(host: str) -> dict[str, str]:
    base = int(os.environ.get("GUANJIA_INTERNAL_PORT_BASE", "8100"))
    env = dict(os.environ)
    internal: tuple[ServiceName, ...] = ("intake", "routing", "deadlines", "ledger")
    for offset, svc in enumerate(internal, start=1):
        env.setdefault(URL_VARS[svc], f"http://{host}:{base + offset}")
    # The path from a call to its unit runs in lanes of its own (see `Settings.first_lane`).
    env.setdefault("GUANJIA_FIRST_LANE", "1")
    return env


def _port_of(url: str) -> str:
    return url.rsplit(":", 1)[1].split("/")[0]


def cmd_up(args: argparse.Namespace) -> int:
    from services.embedded import prepare_environment

    embedded, secrets_path = prepare_environment()
    data_dir = Path(os.environ["GUANJIA_DATA_DIR"])
    stop = {"flag": False}

    def on_signal(signum: int, frame: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor: Supervisor | None = None
    try:
        host = os.environ.get("GUANJIA_HOST", "127.0.0.1")
        port = os.environ.get("GUANJIA_PORT", str(DEFAULT_PORTS["gateway"]))
        env = _internal_env(host)
        commands: dict[str, list[str]] = {}
        gateways = gateway_processes()
        for svc in SERVICES:
            svc_port = port if svc == "gateway" else _port_of(env[URL_VARS[svc]])
            command = [sys.executable, "-m", "services.cli", "serve", svc, "--host", host, "--port", svc_port]
            if svc != "gateway" or gateways == 1:
                commands[svc] = command
                continue
            # Several gateway processes on one port (SO_REUSEPORT: the kernel spreads connections),
            # each a supervised child of its own: one killed, the others answer while it restarts.
            for i in range(gateways):
                commands["gateway" if i == 0 else f"gateway-{i + 1}"] = [*command, "--reuse-port"]
        # Parsed by the rules `Settings.first_lane` applies in the workers this starts.
        lanes = TypeAdapter(bool).validate_python(env["GUANJIA_FIRST_LANE"].strip())
        for svc in SERVICES:
            for i in range(args.workers):
                commands[f"{svc}-worker-{i + 1}"] = [sys.executable, "-m", "services.cli", "worker", svc]
                if lanes and svc in TAKEN_FIRST:
                    commands[f"{svc}-first-{i + 1}"] = [*commands[f"{svc}-worker-{i + 1}"], "--lane", "first"]
        # Room for every process's pool before any of them starts (the server may restart).
        for line in share_connections(embedded, len(commands), env):
            print(f"[guanjia] {line}", flush=True)
        print("[guanjia] migrating…", flush=True)
        migrate()
        admin_file = seed(data_dir)
        supervisor = Supervisor(commands, env, data_dir / "logs")
        supervisor.start_all()
        gateway = f"http://{host}:{port}"
        ready = False
        deadline = time.monotonic() + 120
        while not stop["flag"] and time.monotonic() < deadline:
            supervisor.watch()
            try:
                if httpx.get(f"{gateway}/readyz", timeout=2).status_code == 200:
                    ready = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        if ready:
            print(f"[guanjia] ready: {gateway}", flush=True)
            print(f"[guanjia] API docs: {gateway}/docs  ·  OpenAPI: {gateway}/openapi.json", flush=True)
            for svc in ("intake", "routing", "deadlines", "ledger"):
                print(f"[guanjia] {svc}: {env[URL_VARS[svc]]} (internal)", flush=True)
            print(f"[guanjia] generated secrets: {secrets_path}", flush=True)
            if admin_file:
                print(
                    f"[guanjia] first city admin: username admin, password in {admin_file} "
                    "(log in with POST /api/v1/auth/staff)",
                    flush=True,
                )
            try:
                counts: dict[str, int] | None = register_counts()
            except Exception as exc:  # the system runs; only the count is missing
                print(f"[guanjia] registers: not counted ({exc!r})", flush=True)
                counts = None
            for line in reference_help(counts):
                print(f"[guanjia] {line}", flush=True)
            print(f"[guanjia] logs: {data_dir / 'logs'}  ·  Ctrl-C stops everything", flush=True)
        elif not stop["flag"]:
            print(f"[guanjia] not ready after 120 s; see {data_dir / 'logs'}", file=sys.stderr, flush=True)
        while not stop["flag"]:
            supervisor.watch()
            time.sleep(0.5)
        return 0
    finally:
        print("[guanjia] stopping…", flush=True)
        if supervisor is not None:
            supervisor.stop_all()
        embedded.stop()


def share_connections(embedded: Embedded, processes: int, env: dict[str, str]) -> list[str]:
    """Make the database's connections enough for `processes` pools at their fullest
    (`services.common.connections`): the embedded server is given room for them; a server that
    is not ours, too small for them, has each pool cut to its share in the children's `env`.
    Returns what to tell the operator."""
    settings = get_settings()
    pool = Pool(settings.db_pool_size, settings.db_max_overflow)
    want = connections.needed(processes, pool)
    if embedded.make_room(want):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]  # the same server, started again
        get_settings.cache_clear()
        return []
    limit = embedded.max_connections() or server_max_connections()
    share = connections.fit(limit, processes, pool)
    if share == pool:
        return []
    env["GUANJIA_DB_POOL_SIZE"], env["GUANJIA_DB_MAX_OVERFLOW"] = str(share.size), str(share.overflow)
    told = [
        f"PostgreSQL takes {limit} connections and {processes} processes would hold up to {want} "
        f"with their reserve: each pool cut to {share.size} + {share.overflow} "
        f"(raise max_connections to {want} to keep {pool.size} + {pool.overflow})"
    ]
    if connections.needed(processes, share) > limit:
        told.append(f"even one connection a process leaves no reserve: raise max_connections to {want}")
    return told


def server_max_connections() -> int:
    """`max_connections` of the server DATABASE_URL names."""
    import asyncio

    import asyncpg

    async def ask() -> int:
        url = str(get_settings().database_url).replace("+asyncpg", "", 1)
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SHOW max_connections"))
        finally:
            await conn.close()

    return asyncio.run(ask())


def gateway_processes() -> int:
    """How many gateway processes `up` runs (`GUANJIA_GATEWAY_PROCESSES`; default one per core, at
    most four). The gateway keeps nothing per process that must be shared: limits, throttles and
    sessions are in Redis and PostgreSQL."""
    configured = os.environ.get("GUANJIA_GATEWAY_PROCESSES")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))
