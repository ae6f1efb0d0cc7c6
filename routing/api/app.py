"""The routing service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI

from routing.api import ROUTERS
from routing.models.base import messaging
from routing.service.catalogue import ensure_seeded
from services.common import dead_letters
from services.common.app import create_service_app
from services.common.db import session_scope


async def _seed(app: FastAPI) -> None:
    # The policy catalogue's first version, from routing/service/policies.py, if the database has none.
    async with session_scope() as session:
        await ensure_seeded(session)


app = create_service_app(
    "routing",
    [*ROUTERS, dead_letters.router("routing", messaging)],
    title="民生大莞家 routing (internal)",
    on_startup=[_seed],
)
