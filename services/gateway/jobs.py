"""The gateway's worker: relays its outbox; channel feedback (issue "Channels") plugs in here."""

from __future__ import annotations

from arq.worker import Worker

from services.common.jobs import EventHandler, build_worker, event_consumer
from services.gateway.models import messaging

HANDLERS: dict[str, EventHandler] = {}


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:gateway`."""
    return build_worker("gateway", messaging, [event_consumer("gateway", HANDLERS)], burst=burst)
