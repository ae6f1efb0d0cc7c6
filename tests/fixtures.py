"""What every service's tests share, written once: a member of staff, the gateway's service token
for them, a staff bearer token, a worker drained until its queue is empty, events put on a service's queue, a
received appeal as routing and deadlines hear it, and the SQL statements a block sends.

Plain functions rather than pytest fixtures: tests build their staff at import time
(``CITY = staff("city_admin")``) and call these inside parametrised helpers. The pytest fixtures
that need a scope (the database, the queue prefix) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import importlib
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.worker import Worker
from sqlalchemy import event

from services.common.auth import Principal, mint_service_token, mint_staff_token
from services.common.db import get_engine
from services.common.queue import connect, queue_name
from services.contracts.events import AppealReceived, Event, Service, make_event
from services.contracts.vocabulary import Role, UnitType

ORG_TYPES: dict[Role, UnitType] = {
    "city_admin": "city",
    "auditor": "city",
    "town_staff": "town",
    "village_staff": "village",
    "department_staff": "department",
    "station_staff": "station",
}
"""The kind of unit each role works for (DESIGN §10)."""


def staff(
    role: Role, org_code: str = "city", *, username: str | None = None, staff_id: str | None = None
) -> Principal:
    """A member of staff of ``org_code`` in ``role`` (the unit's kind follows from the role)."""
    return Principal(
        staff_id=staff_id or f"staff-{uuid.uuid4().hex[:8]}",
        username=username or f"{role}.{org_code}",
        role=role,
        org_type=ORG_TYPES[role],
        org_code=org_code,
    )


def auth(actor: Principal | None = None, service: str = "gateway") -> dict[str, str]:
    """The headers of a service call from ``service`` (the gateway), acting for ``actor``."""
    return {"Authorization": f"Bearer {mint_service_token(service, actor)}"}


def bearer(principal: Principal) -> dict[str, str]:
    """A staff bearer token for ``principal``, as the gateway's clients send it. Mint it when the
    request is sent (a module's helper function, not a module constant): a token minted at
    collection expires (30 min) in a suite that runs longer."""
    return {"Authorization": f"Bearer {mint_staff_token(principal)[0]}"}


async def drain(target: Service | Worker) -> Worker:
    """Run a service's real worker (or the one given) in burst mode until its queue is empty,
    retries included."""
    w: Worker = (
        target if isinstance(target, Worker) else importlib.import_module(f"{target}.jobs").worker(burst=True)
    )
    try:
        await w.main()
    finally:
        with warnings.catch_warnings():
            # arq 0.28 closes its pool with redis' deprecated close(); pytest turns that into an error.
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await w.close()
    return w


async def enqueue(service: Service, *events: Event, defer_by: timedelta | None = None) -> None:
    """Put events on a service's queue, each as its own job (no job id: a test may deliver the
    same event twice to prove the inbox keeps its effect single)."""
    redis = await connect()
    try:
        for event in events:
            job = await redis.enqueue_job(
                f"{service}.handle_event",
                event.model_dump(mode="json"),
                _queue_name=queue_name(service),
                _defer_by=defer_by,
            )
            assert job is not None
    finally:
        await redis.aclose()


def received(
    description: str,
    *,
    appeal_id: uuid.UUID | None = None,
    ticket_no: str | None = None,
    channel: str = "wechat_miniprogram",
    received_at: datetime | None = None,
    **fields: Any,
) -> Event:
    """An ``appeal.received`` event from intake: a new appeal as the other services hear of it."""
    data = AppealReceived(
        ticket_no=ticket_no or f"MS20261127{uuid.uuid4().int % 10**8:08d}",
        channel=channel,
        received_at=received_at or datetime.now(UTC),
        description=description,
        **fields,
    )
    return make_event("appeal.received", "intake", data, appeal_id=appeal_id or uuid.uuid4())


@contextmanager
def statements_sent(containing: str = "") -> Iterator[list[str]]:
    """Every SQL statement this process sends while the block runs, of those that contain
    `containing`: a test counts them, or looks for one it must never send."""
    seen: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if containing in statement:
            seen.append(statement)

    sync_engine = get_engine().sync_engine
    event.listen(sync_engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", grab)
