"""Sweeping up lost deliveries (job `gateway.feedback_sweep`, each minute).

Deliveries whose job was lost are queued again; a send a dead worker left half-done is
repeated for SMS (the gateway de-duplicates on the delivery id) and settled as `unknown` for
WeChat, whose sends are not idempotent.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from services.common.db import session_scope
from services.common.jobs import JobContext
from services.common.messaging import utcnow
from services.gateway.config import feedback_settings
from services.gateway.models import FeedbackDelivery
from services.gateway.service.feedback.deliveries import enqueue_delivery

log = structlog.get_logger(__name__)


async def sweep(ctx: JobContext) -> int:
    """Re-queue deliveries whose job was lost; settle sends a dead worker left half-done.

    A send interrupted between the call and its record is repeated for SMS (the gateway
    de-duplicates on the delivery id) and given up as `unknown` for WeChat (not idempotent).
    """
    conf = feedback_settings()
    now = utcnow()
    cutoff = now - timedelta(seconds=conf.sweep_after_s)
    requeue: list[tuple[uuid.UUID, int]] = []
    async with session_scope(ctx["db"]) as session:
        rows = (
            await session.scalars(
                select(FeedbackDelivery)
                .where(
                    FeedbackDelivery.status.in_(("pending", "sending")), FeedbackDelivery.updated_at < cutoff
                )
                .order_by(FeedbackDelivery.updated_at)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            row.updated_at = now
            if row.status == "sending" and row.channel != "sms":
                row.status, row.finished_at = "unknown", now
                row.last_result = "unknown: the worker stopped during the send"
                continue
            row.status = "pending"
            requeue.append((row.id, row.attempts))
    for did, attempts in requeue:
        await enqueue_delivery(ctx["redis"], did, suffix=f":sweep:{attempts}:{int(now.timestamp())}")
    if requeue or rows:
        log.warning("feedback_swept", requeued=len(requeue), settled=len(rows) - len(requeue))
    return len(rows)


async def sweep_cron(ctx: dict[str, Any]) -> None:
    """The cron entry: a failed sweep is retried by the next one."""
    try:
        await sweep(ctx)  # type: ignore[arg-type]
    except Exception as exc:
        log.warning("feedback_sweep_failed", error=repr(exc))
