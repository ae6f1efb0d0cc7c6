"""The ledger's arq worker: consumes the events it subscribes to and relays its own outbox.

No handlers yet: reservations on `plan.approved`, receipts on `claim.confirmed` and releases
on `appeal.completed` / `appeal.closed` come with the issue that builds them.
"""

from __future__ import annotations

from collections.abc import Mapping

from arq.worker import Worker

from ledger.models import messaging
from services.common.jobs import EventHandler, build_worker, event_consumer

HANDLERS: Mapping[str, EventHandler] = {}


def worker(burst: bool = False) -> Worker:
    """The ledger worker: `ledger.handle_event` plus the outbox relay."""
    return build_worker("ledger", messaging, [event_consumer("ledger", HANDLERS)], burst=burst)
