"""The command line itself: every subcommand wired to its function, and the entry point.

:func:`build_parser` adds the system's own commands and lets the services add theirs
(`routing train`, `ledger verify|reconcile`, `reference import`, `intake tune-duplicates`);
:func:`main` is what the `guanjia` console script and ``python -m services.cli`` call.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from services.cli.accounts import cmd_apikey_create, cmd_staff_create
from services.cli.database import cmd_migrate, cmd_seed, migrate
from services.cli.runtime import _run, _with_servers
from services.cli.serve import cmd_serve, cmd_worker
from services.cli.up import cmd_up
from services.common.clock import refuse_in_production
from services.common.settings import SERVICES


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
    worker.add_argument(
        "--lane", choices=["first"], help="run the service's first lane (the events it takes first)"
    )
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
