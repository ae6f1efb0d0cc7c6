"""The intake service's ASGI app."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from intake.api import (
    archive,
    batch,
    contacts,
    disclosure,
    duplicates,
    lifecycle,
    privacy,
    residents,
    stats,
    worklist,
)
from intake.api.additions import router as additions_router
from intake.api.appeals import router
from intake.models.base import messaging
from intake.service import public_marks
from intake.service.duplicates.similarity import warm_up
from services.common import dead_letters
from services.common.app import create_service_app

public_marks.install()  # every change to a public status is marked before it commits


async def _warm(app: FastAPI) -> None:
    # jieba's dictionary loads in about a second: at start, not on the first resident's appeal.
    await asyncio.to_thread(warm_up)


app = create_service_app(
    "intake",
    [
        router,
        batch.router,
        contacts.router,
        lifecycle.router,
        duplicates.router,
        residents.router,
        privacy.router,
        disclosure.router,
        stats.router,
        archive.router,
        worklist.router,
        additions_router,
        dead_letters.router("intake", messaging),
    ],
    title="民生大莞家 intake (internal)",
    on_startup=[_warm],
)
