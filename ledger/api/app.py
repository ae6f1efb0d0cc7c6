"""The ledger service's ASGI app: `uvicorn ledger.api.app:app`.

Besides the routes, the app runs the chain linker's loop (`ledger.service.linker`), which links
entries committed outside a command request (events, jobs, the CLI) within seconds.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from ledger.api import router
from ledger.models import messaging
from ledger.service import PROCESS_LINKER
from services.common import dead_letters
from services.common.app import create_service_app

_stop = asyncio.Event()
_loops: list[asyncio.Task[None]] = []


async def start_linker(app: FastAPI) -> None:
    """Start the linker's loop with the app."""
    _stop.clear()
    _loops.append(asyncio.create_task(PROCESS_LINKER.run(_stop)))


async def stop_linker(app: FastAPI) -> None:
    """Stop it with the app, after its current round."""
    _stop.set()
    while _loops:
        await _loops.pop()


app = create_service_app(
    "ledger",
    [router, dead_letters.router("ledger", messaging)],
    title="民生大莞家 ledger (资金台账)",
    on_startup=[start_linker],
    on_shutdown=[stop_linker],
)
