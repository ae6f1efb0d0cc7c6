"""Recording and queueing deliveries: one row per (event, recipient, channel), one job per row.

Shared by the event handlers that plan deliveries, by the fallback SMS a closed WeChat window
leads to, and by staff notifications: :func:`store` writes planned deliveries once each (a
replayed event writes nothing twice) and :func:`enqueue_delivery` queues a send under a job id
of its own, so a second enqueue is a no-op.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from arq.connections import ArqRedis
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.crypto import encrypt_pii
from services.common.messaging import utcnow
from services.common.queue import queue_name
from services.gateway.models import FeedbackDelivery
from services.gateway.service.feedback.plan import Planned, delivery_id
from services.gateway.service.normalise import redact

DELIVER_JOB: Final = "gateway.deliver"


async def enqueue_delivery(redis: ArqRedis, did: uuid.UUID, suffix: str = "") -> None:
    """Queue the send of one delivery (a job id per delivery: a second enqueue is a no-op)."""
    await redis.enqueue_job(
        DELIVER_JOB,
        str(did),
        _job_id=f"feedback:{did}{suffix}",
        _queue_name=queue_name("gateway"),
        # Planned inside a transaction that commits just after: let it commit first.
        _defer_by=timedelta(milliseconds=300),
    )


async def store(
    session: AsyncSession,
    event_id: uuid.UUID,
    appeal_id: uuid.UUID | None,
    ticket_no: str,
    to_status: str,
    planned: list[Planned],
    *,
    occurred_at: datetime | None = None,
    from_status: str | None = None,
    skip_reason: str | None = None,
) -> list[uuid.UUID]:
    """Write the planned deliveries (once each); return those that are new and to be sent.

    `occurred_at` and `from_status` place the change in the appeal's order (`order.py`);
    `skip_reason` stores every delivery as skipped (a change that arrived after a later one)."""
    to_send = []
    now = utcnow()
    for p in planned:
        if skip_reason is not None and p.skipped is None:
            p = replace(p, skipped=skip_reason)
        did = delivery_id(event_id, p.channel, p.recipient)
        inserted = await session.execute(
            pg_insert(FeedbackDelivery)
            .values(
                id=did,
                appeal_id=appeal_id,
                event_id=event_id,
                ticket_no=ticket_no,
                to_status=to_status,
                occurred_at=occurred_at,
                from_status=from_status,
                channel=p.channel,
                recipient=p.recipient,
                recipient_masked=p.recipient_masked,
                openid=p.openid,
                phone_enc=encrypt_pii(p.phone) if p.phone else None,
                # Words are kept with any phone or ID number masked; the number an SMS goes to is
                # only in `phone_enc` (DESIGN §7).
                content=redact(p.content),
                status="skipped" if p.skipped else "pending",
                attempts=0,
                last_result=p.skipped,
                updated_at=now,
                finished_at=now if p.skipped else None,
            )
            .on_conflict_do_nothing()
            .returning(FeedbackDelivery.id)
        )
        if inserted.first() is not None and not p.skipped:
            to_send.append(did)
    return to_send
