"""Routing's worker: triages received appeals and relays its outbox."""

from __future__ import annotations

import asyncio

from arq.worker import Worker
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import messaging
from routing.service import triage_received
from routing.triage import triage
from services.common.jobs import EventHandler, JobContext, build_worker, event_consumer
from services.contracts.events import AppealReceived, Event


async def on_received(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """appeal.received → triage and first assignment."""
    assert event.appeal_id is not None
    await triage_received(session, event.appeal_id, event.data_as(AppealReceived))


HANDLERS: dict[str, EventHandler] = {"appeal.received": on_received}


async def _warm_up() -> None:
    # jieba loads its dictionary on first use (~2 s): pay it at start, not on a resident's appeal.
    await asyncio.to_thread(triage, None, "预热分词词典")


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:routing`."""
    return build_worker(
        "routing", messaging, [event_consumer("routing", HANDLERS)], burst=burst, on_startup=_warm_up
    )
