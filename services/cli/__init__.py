"""`guanjia`: up, migrate, seed, worker, serve, staff create, apikey create (DESIGN §10),
and the services' own commands (`routing train`, `ledger verify|reconcile`, `reference import`).

The package is split by concern: ``runtime`` (running a command's coroutines against the
servers), ``database`` (migrate, seed, the registers' counts), ``up`` (the supervised system),
``serve`` (one service's API or worker), ``accounts`` (staff and API keys) and ``parser`` (the
command line and :func:`main`, the console script's entry point); this module re-exports their
public names so that ``services.cli`` stays the one import path, and ``__main__`` makes
``python -m services.cli`` work.
"""

from __future__ import annotations

from services.cli.accounts import cmd_apikey_create, cmd_staff_create, station_registered
from services.cli.database import cmd_migrate, cmd_seed, migrate, reference_help, register_counts, seed
from services.cli.parser import build_parser, main
from services.cli.serve import APPS, WORKERS, cmd_serve, cmd_worker, uvicorn_options
from services.cli.up import URL_VARS, Supervisor, cmd_up, gateway_processes

__all__ = [
    "APPS",
    "URL_VARS",
    "WORKERS",
    "Supervisor",
    "build_parser",
    "cmd_apikey_create",
    "cmd_migrate",
    "cmd_seed",
    "cmd_serve",
    "cmd_staff_create",
    "cmd_up",
    "cmd_worker",
    "gateway_processes",
    "main",
    "migrate",
    "reference_help",
    "register_counts",
    "seed",
    "station_registered",
    "uvicorn_options",
]
