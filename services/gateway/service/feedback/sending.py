"""Sending one delivery (job `gateway.deliver`): claim it, send it, record the outcome.

The claim (`sending`) is one short transaction, the send is made with no transaction open, and
the outcome is recorded in a second one, so two workers or a replayed job never send a
delivery twice; a retry leaves it pending, a closed WeChat window falls back to SMS, and the
next message waiting for the same person is queued when this one is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.crypto import decrypt_pii
from services.common.db import session_scope
from services.common.jobs import JobContext, NotYet
from services.common.messaging import utcnow
from services.common.personal import mask_numbers
from services.common.settings import get_settings
from services.gateway.config import feedback_settings
from services.gateway.models import FeedbackAttempt, FeedbackDelivery
from services.gateway.service.feedback import order
from services.gateway.service.feedback.deliveries import enqueue_delivery, store
from services.gateway.service.feedback.outcome import Outcome
from services.gateway.service.feedback.plan import Change, sms_to
from services.gateway.service.feedback.sms import send_sms
from services.gateway.service.feedback.wechat import WechatApp, send_custom_text, send_subscribe

log = structlog.get_logger(__name__)

FINAL_STATUS: Final[dict[str, str]] = {
    "delivered": "delivered",
    "refused": "refused",
    "failed": "failed",
    "window_closed": "skipped",
    "unknown": "unknown",
}


class DeliveryPending(NotYet):
    """The delivery will be tried again: a transient failure, or its row is not committed yet."""


@dataclass(frozen=True)
class _Send:
    id: uuid.UUID
    event_id: uuid.UUID
    appeal_id: uuid.UUID | None
    channel: str
    attempt: int
    openid: str | None
    phone: str | None
    content: dict[str, Any]
    ticket_no: str
    to_status: str
    recipient: str = ""
    occurred_at: datetime | None = None
    from_status: str | None = None


async def _claim(ctx: JobContext, did: uuid.UUID) -> _Send | str:
    async with session_scope(ctx["db"]) as session:
        row = await session.scalar(
            select(FeedbackDelivery).where(FeedbackDelivery.id == did).with_for_update(skip_locked=True)
        )
        if row is None:
            status = await session.scalar(select(FeedbackDelivery.status).where(FeedbackDelivery.id == did))
            if status is None:
                raise DeliveryPending("delivery not committed yet")
            return "busy"  # another worker holds it this very moment
        if row.status != "pending":
            return row.status
        if await order.earlier_open(session, row.appeal_id, row.recipient, row.occurred_at):
            raise DeliveryPending("an earlier message to this person is not finished yet")
        row.status = "sending"
        row.attempts += 1
        row.updated_at = utcnow()
        return _Send(
            id=row.id,
            event_id=row.event_id,
            appeal_id=row.appeal_id,
            channel=row.channel,
            attempt=row.attempts,
            openid=row.openid,
            phone=decrypt_pii(row.phone_enc) if row.phone_enc else None,
            content=dict(row.content),
            ticket_no=row.ticket_no,
            to_status=row.to_status,
            recipient=row.recipient,
            occurred_at=row.occurred_at,
            from_status=row.from_status,
        )


async def _send(ctx: JobContext, job: _Send) -> Outcome:
    settings = get_settings()
    conf = feedback_settings()
    base = settings.wechat_api_base.rstrip("/")
    if job.channel == "sms":
        assert job.phone is not None
        return await send_sms(
            settings.sms_url,
            phone=job.phone,
            template=conf.sms_template,
            params=job.content["params"],
            idempotency_key=str(job.id),
            request_id=f"{job.id}/{job.attempt}",
            timeout_s=conf.timeout_s,
        )
    assert job.openid is not None
    if job.channel == "mp_subscribe":
        app_id, secret = settings.miniprogram_app_id, settings.miniprogram_secret
        if not (app_id and secret and conf.miniprogram_template_id):
            return Outcome("failed", detail="小程序订阅消息未配置")
        return await send_subscribe(
            ctx["redis"],
            base,
            WechatApp(app_id, secret),
            openid=job.openid,
            template_id=conf.miniprogram_template_id,
            page=f"{conf.miniprogram_page}?ticket_no={job.ticket_no}",
            state=conf.miniprogram_state,
            data=job.content["data"],
            timeout_s=conf.timeout_s,
        )
    if not (settings.wechat_app_id and conf.wechat_app_secret):
        return Outcome("failed", detail="公众号客服消息未配置")
    return await send_custom_text(
        ctx["redis"],
        base,
        WechatApp(settings.wechat_app_id, conf.wechat_app_secret),
        openid=job.openid,
        content=job.content["text"],
        timeout_s=conf.timeout_s,
    )


async def _record(session: AsyncSession, job: _Send, outcome: Outcome) -> tuple[str, uuid.UUID | None]:
    """Log the attempt and settle the delivery; returns its status and a fallback SMS to queue."""
    conf = feedback_settings()
    now = utcnow()
    session.add(
        FeedbackAttempt(
            delivery_id=job.id,
            attempt=job.attempt,
            at=now,
            outcome=outcome.result,
            http_status=outcome.http_status,
            errcode=outcome.errcode,
            detail=mask_numbers(outcome.detail)[:500] or None,
        )
    )
    row = await session.get(FeedbackDelivery, job.id, with_for_update=True)
    assert row is not None
    detail = mask_numbers(f"{outcome.result}: errcode={outcome.errcode} {outcome.detail}".strip())
    row.last_result = detail[:300]
    row.updated_at = now
    if outcome.result == "retry" and job.attempt < conf.max_attempts:
        row.status = "pending"
        return row.status, None
    row.status = FINAL_STATUS.get(outcome.result, "failed")
    row.finished_at = now
    fallback = None
    if outcome.result == "window_closed" and job.phone:
        sms = sms_to(job.phone, job.ticket_no, Change.of(job.content, job.to_status))
        new = await store(
            session,
            job.event_id,
            job.appeal_id,
            job.ticket_no,
            job.to_status,
            [sms],
            occurred_at=job.occurred_at,
            from_status=job.from_status,
        )
        fallback = new[0] if new else None
    return row.status, fallback


async def deliver(ctx: JobContext, delivery: str) -> str:
    """Job `gateway.deliver`: one attempt at one delivery, never a second send of a sent one."""
    did = uuid.UUID(delivery)
    claimed = await _claim(ctx, did)
    if isinstance(claimed, str):
        return claimed
    structlog.contextvars.bind_contextvars(delivery_id=delivery, channel=claimed.channel)
    try:
        outcome = await _send(ctx, claimed)
        async with session_scope(ctx["db"]) as session:
            status, fallback = await _record(session, claimed, outcome)
        log.info("feedback_attempt", attempt=claimed.attempt, outcome=outcome.result, status=status)
        if fallback is not None:
            await enqueue_delivery(ctx["redis"], fallback)
        if status == "pending":
            raise DeliveryPending(f"attempt {claimed.attempt}: {outcome.result} {outcome.detail}")
        await _queue_next(ctx, claimed)
        return status
    finally:
        structlog.contextvars.unbind_contextvars("delivery_id", "channel")


async def _queue_next(ctx: JobContext, done: _Send) -> None:
    """The message that waited for this one to the same person goes now, not at its next retry."""
    async with session_scope(ctx["db"]) as session:
        waiting = await order.next_waiting(session, done.appeal_id, done.recipient, done.occurred_at)
    if waiting is not None:
        await enqueue_delivery(ctx["redis"], waiting, suffix=f":after:{done.id}")
