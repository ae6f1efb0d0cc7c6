"""`guanjia`: up, migrate, seed, worker, serve, staff create, apikey create (DESIGN §10),
and the services' own commands (`routing train`, `ledger verify|reconcile`, `reference import`)."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import httpx

from services.common.clock import refuse_in_production
from services.common.settings import DEFAULT_PORTS, SERVICES, ServiceName, get_settings

APPS: dict[ServiceName, str] = {
    "gateway": "services.gateway.api.app:app",
    "intake": "intake.api.app:app",
    "routing": "routing.api.app:app",
    "deadlines": "deadlines.api.app:app",
    "ledger": "ledger.api.app:app",
}
WORKERS: dict[ServiceName, str] = {
    "gateway": "services.gateway.jobs",
    "intake": "intake.jobs",
    "routing": "routing.jobs",
    "deadlines": "deadlines.jobs",
    "ledger": "ledger.jobs",
}
URL_VARS: dict[ServiceName, str] = {
    "intake": "GUANJIA_INTAKE_URL",
    "routing": "GUANJIA_ROUTING_URL",
    "deadlines": "GUANJIA_DEADLINES_URL",
    "ledger": "GUANJIA_LEDGER_URL",
}


def _run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    async def wrapped() -> Any:
        from services.common.db import get_engine

        try:
            return await coro_fn()
        finally:
            await get_engine().dispose()

    return asyncio.run(wrapped())


def _with_servers(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command against the same servers `up` uses, starting them only if needed."""

    def wrapper(args: argparse.Namespace) -> int:
        from services.embedded import prepare_environment

        embedded, _ = prepare_environment()
        try:
            return fn(args)
        finally:
            embedded.stop()

    return wrapper


def migrate() -> None:
    """`alembic upgrade heads` against DATABASE_URL."""
    from services.migrations.run import upgrade_heads

    upgrade_heads(os.environ["DATABASE_URL"])


def seed(data_dir: Path) -> str | None:
    """Check the reference data and, on a new embedded install, create a first city admin.

    Returns the file holding the first admin's password: just written, or kept from the start
    that created it (so `up` can say where it is on every start, not only the first).
    """
    from sqlalchemy import func, select

    from services.common.db import session_scope
    from services.common.reference import load_reference
    from services.common.settings import get_settings
    from services.gateway.models import StaffAccount
    from services.gateway.service.identity import create_staff

    ref = load_reference()
    print(f"reference data: {len(ref.towns)} towns and subdistricts, {len(ref.villages)} villages")
    if get_settings().env == "production":
        return None

    path = data_dir / "admin-password.txt"

    async def first_admin() -> str | None:
        async with session_scope() as session:
            if await session.scalar(select(func.count()).select_from(StaffAccount)):
                return str(path) if path.exists() else None
            password = secrets.token_urlsafe(12)
            await create_staff(session, "admin", password, "city_admin", "city")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"username=admin\npassword={password}\n")
        return str(path)

    result: str | None = _run(first_admin)
    return result


def register_counts() -> dict[str, int]:
    """How many villages (shipped and imported), stations and donors the database holds now."""
    from sqlalchemy import text

    from services.common.db import session_scope
    from services.common.reference import load_reference
    from services.common.reference import store as reference_store

    async def count() -> dict[str, int]:
        async with session_scope() as session:
            await reference_store.refresh(session)
            found = {
                name: int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for name, table in (
                    ("imported", "reference.villages"),
                    ("stations", "routing.stations"),
                    ("donors", "routing.donors"),
                )
            }
        return {"villages": len(load_reference().villages), **found}

    result: dict[str, int] = _run(count)
    return result


def reference_help(counts: dict[str, int] | None = None) -> list[str]:
    """What `up` says about the registers: what is loaded, that no station and no donor ships,
    and how to load the city's own."""
    loaded = (
        [
            f"registers loaded: {counts['villages']} villages and communities ({counts['imported']} imported), "
            f"{counts['stations']} service stations, {counts['donors']} donors"
        ]
        if counts is not None
        else []
    )
    return [
        *loaded,
        "registers: no service station (莞家驿站) and no donor (爱心资源库) is shipped; villages are a real subset",
        "  load the city's own: guanjia reference import --kind villages|stations|donors FILE  (CSV or XLSX)",
        "  or, as city staff: POST /api/v1/reference/{kind}/file  (columns: docs/samples/*.sample.csv, not real data)",
    ]


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
            env=self.env,
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
        print("[guanjia] migrating…", flush=True)
        migrate()
        admin_file = seed(data_dir)
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
        for svc in SERVICES:
            for i in range(args.workers):
                commands[f"{svc}-worker-{i + 1}"] = [sys.executable, "-m", "services.cli", "worker", svc]
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


def uvicorn_options() -> dict[str, object]:
    """How every HTTP process runs under uvicorn. Proxy headers only when a proxy is configured
    (GUANJIA_TRUST_PROXY): uvicorn otherwise believes X-Forwarded-For from 127.0.0.1, so anyone
    reaching the port through a local hop picks the address the rate limits count. Slow clients
    get header and body deadlines (`services.common.http_server`)."""
    from services.common.http_server import deadline_protocol

    settings = get_settings()
    return {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "proxy_headers": settings.trust_proxy,
        # A client that sends its request a byte at a time is cut off (issue 15).
        "http": deadline_protocol(settings.header_timeout_s, settings.body_timeout_s),
        # No `server: uvicorn`: nothing to tell a scanner which server and so which flaws.
        "server_header": False,
    }


def gateway_processes() -> int:
    """How many gateway processes `up` runs (`GUANJIA_GATEWAY_PROCESSES`; default one per core, at
    most four). The gateway keeps nothing per process that must be shared: limits, throttles and
    sessions are in Redis and PostgreSQL."""
    configured = os.environ.get("GUANJIA_GATEWAY_PROCESSES")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


def _shared_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if not args.reuse_port:
        uvicorn.run(APPS[args.service], host=args.host, port=args.port, **uvicorn_options())  # type: ignore[arg-type]
        return 0
    config = uvicorn.Config(APPS[args.service], host=args.host, port=args.port, **uvicorn_options())  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[_shared_socket(args.host, args.port)])
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(WORKERS[args.service])
    os.nice(get_settings().worker_nice)
    worker = module.worker(burst=args.burst)
    worker.run()
    return 0


@_with_servers
def cmd_migrate(args: argparse.Namespace) -> int:
    migrate()
    print("migrated: all service branches at head")
    return 0


@_with_servers
def cmd_seed(args: argparse.Namespace) -> int:
    migrate()
    admin = seed(Path(os.environ["GUANJIA_DATA_DIR"]))
    if admin:
        print(f"first city admin's password: {admin}")
    return 0


async def station_registered(session: Any, code: str) -> bool:
    """Whether routing's register holds an active station with this code. The CLI is the
    operator's tool over the whole database (it migrates every service's schema), so it may read
    routing's table where the gateway may not."""
    from sqlalchemy import text

    found = await session.scalar(
        text("SELECT 1 FROM routing.stations WHERE code = :code AND active"), {"code": code}
    )
    return found is not None


@_with_servers
def cmd_staff_create(args: argparse.Namespace) -> int:
    from services.common.db import session_scope
    from services.common.errors import DomainError
    from services.gateway.service.identity import create_staff

    migrate()

    async def go() -> str:
        async with session_scope() as session:
            account = await create_staff(
                session,
                args.username,
                args.password,
                args.role,
                args.org,
                phone=args.phone,
                openid=args.openid,
                station_exists=station_registered,
            )
            return (
                f"created staff {account.username} ({account.role} @ {account.org_type}:{account.org_code})"
            )

    try:
        print(_run(go))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


@_with_servers
def cmd_apikey_create(args: argparse.Namespace) -> int:
    from services.common.db import session_scope
    from services.gateway.service.identity import create_api_key

    migrate()

    async def go() -> str:
        async with session_scope() as session:
            return await create_api_key(session, args.name)

    key = _run(go)
    print(f"created API key '{args.name}' (shown once, store it now):")
    print(key)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="guanjia", description="民生大莞家 backend")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the whole system on its embedded default")
    up.add_argument("--workers", type=int, default=1, help="worker processes per service")
    up.set_defaults(fn=cmd_up)

    sub.add_parser("migrate", help="alembic upgrade heads").set_defaults(fn=cmd_migrate)
    sub.add_parser("seed", help="reference data and a first admin").set_defaults(fn=cmd_seed)

    serve = sub.add_parser("serve", help="run one service's HTTP API")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument(
        "--reuse-port", action="store_true", help="share the port with other processes of the same service"
    )
    serve.set_defaults(fn=cmd_serve)

    worker = sub.add_parser("worker", help="run one service's arq worker")
    worker.add_argument("service", choices=SERVICES)
    worker.add_argument("--burst", action="store_true")
    worker.set_defaults(fn=cmd_worker)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="staff_command", required=True)
    create = staff.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True)
    create.add_argument("--org", required=True)
    create.add_argument("--phone", help="mobile for SMS notifications (optional)")
    create.add_argument("--openid", help="mini-program openid for subscribe-message notifications (optional)")
    create.set_defaults(fn=cmd_staff_create)

    apikey = sub.add_parser("apikey", help="integration API keys").add_subparsers(
        dest="apikey_command", required=True
    )
    key_create = apikey.add_parser("create")
    key_create.add_argument("--name", required=True)
    key_create.set_defaults(fn=cmd_apikey_create)

    from routing.api.cli import add_commands as add_routing_commands  # `guanjia routing train`

    add_routing_commands(sub, _with_servers, _run)

    from ledger.api.cli import add_commands as add_ledger_commands  # `guanjia ledger verify|reconcile`

    add_ledger_commands(sub, _with_servers, _run)

    from routing.api.registers_cli import add_commands as add_reference_commands  # `guanjia reference import`

    add_reference_commands(sub, _with_servers, _run, migrate)

    from intake.service.duplicates.tune import (
        add_commands as add_intake_commands,  # `guanjia intake tune-duplicates`
    )

    add_intake_commands(sub, _with_servers, _run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `guanjia` console script."""
    args = build_parser().parse_args(argv)
    refuse_in_production()
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
