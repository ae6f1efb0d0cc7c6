"""Intake's worker: projects the other services' events and relays its own outbox."""

from __future__ import annotations

from arq.worker import Worker

from intake.models import messaging
from intake.projection import HANDLERS
from services.common.jobs import build_worker, event_consumer


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:intake`."""
    return build_worker("intake", messaging, [event_consumer("intake", HANDLERS)], burst=burst)
