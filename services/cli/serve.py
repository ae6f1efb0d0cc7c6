"""`guanjia serve` and `guanjia worker`: one service's HTTP API under uvicorn, or its arq worker.

Holds which app and which worker module each service has, and how every HTTP process runs under
uvicorn (proxy headers, slow-client deadlines, no server header, an optionally shared port).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket

from services.common.queue import FIRST_LANE
from services.common.settings import ServiceName, get_settings
from services.contracts.events import TAKEN_FIRST

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


def yield_cores(nice: int, *, idle: bool) -> None:
    """Run this process behind every ordinary one: under SCHED_IDLE when `idle` (and the system
    has it), at niceness `nice` in any case.

    Why not niceness alone: Linux's EEVDF scheduler (6.6 on) lets the process on a core finish its
    time slice before a woken one of lower niceness takes it over; niceness sets the share of a
    busy core, not how soon a woken request gets one. A call is woken several times on its path
    (gateway, intake, each statement) and waited behind a worker's slice at each: with the
    workers at nice 5 and 10, a burst reached 20–23% of the bare endpoint, against 28–30% with the
    follow-up workers under SCHED_IDLE and the first lanes at nice 19 (`bench.system_load 20
    ingest`, interleaved runs). A SCHED_IDLE process gives up its core the moment an ordinary
    one wakes, and still runs, slowly, on cores that stay busy: the work is delayed, never
    stopped. This holds among the processes of one session (with autogroup scheduling the kernel
    first shares the cores between sessions), as `guanjia up` starts them.
    """
    os.nice(nice)
    if idle and hasattr(os, "SCHED_IDLE"):
        # A kernel that refuses (a sandbox's seccomp policy) leaves the process at `nice`.
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def cmd_worker(args: argparse.Namespace) -> int:
    import importlib

    settings = get_settings()
    first = args.lane == FIRST_LANE
    if first and args.service not in TAKEN_FIRST:
        raise SystemExit(f"{args.service} takes no event first: it has no first lane")
    # Before the imports: loading the models and lexicons yields the cores too.
    if first:
        os.nice(settings.critical_nice)
    else:
        yield_cores(settings.worker_nice, idle=settings.worker_idle)
    module = importlib.import_module(WORKERS[args.service])
    worker = module.first_lane() if first else module.worker(burst=args.burst)
    worker.run()
    return 0
