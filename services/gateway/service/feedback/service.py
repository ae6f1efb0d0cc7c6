"""Feedback's steps: plan the deliveries of a status change, send one, sweep up lost ones.

No commits inside the steps' own logic beyond what each step's unit of work needs: planning runs
in the event consumer's transaction (inbox claim + rows, together); a send is claimed in one
short transaction, made with no transaction open, and recorded in a second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.crypto import decrypt_pii, encrypt_pii
from services.common.db import session_scope
from services.common.errors import ServiceUnavailable
from services.common.jobs import JobContext, NotYet
from services.common.messaging import utcnow
from services.common.personal import mask_numbers
from services.common.queue import queue_name
from services.common.settings import get_settings
from services.common.timeutil import to_local
from services.contracts.contacts import AppealContacts
from services.contracts.events import ConsultationNoticed, Event, StatusChanged
from services.gateway.config import feedback_settings
from services.gateway.models import FeedbackAttempt, FeedbackDelivery
from services.gateway.service.client import call
from services.gateway.service.feedback import order
from services.gateway.service.feedback.outcome import Outcome
from services.gateway.service.feedback.plan import Change, Planned, delivery_id, plan, sms_to
from services.gateway.service.feedback.sms import send_sms
from services.gateway.service.feedback.wechat import WechatApp, send_custom_text, send_subscribe
from services.gateway.service.feedback.window import last_messages
from services.gateway.service.normalise import redact

log = structlog.get_logger(__name__)
DELIVER_JOB: Final = "gateway.deliver"
FINAL_STATUS: Final[dict[str, str]] = {
    "delivered": "delivered",
    "refused": "refused",
    "failed": "failed",
    "window_closed": "skipped",
    "unknown": "unknown",
}


class DeliveryPending(NotYet):
    """The delivery will be tried again: a transient failure, or its row is not committed yet."""


# --- planning (appeal.status_changed) ------------------------------------------------------------


async def fetch_contacts(appeal_id: uuid.UUID) -> AppealContacts | None:
    """The appeal's channel and people, from intake; None for an appeal intake does not know."""
    try:
        response = await call("intake", "GET", f"/internal/appeals/{appeal_id}/contacts")
    except ServiceUnavailable as exc:
        raise NotYet("intake unreachable") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise NotYet(f"intake answered {response.status_code}")
    return AppealContacts.model_validate_json(response.content)


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
    appeal_id: uuid.UUID,
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


async def _tell(
    session: AsyncSession, event: Event, ctx: JobContext, change: Change, from_status: str | None = None
) -> None:
    assert event.appeal_id is not None
    if from_status is not None and await order.previous_change_missing(
        session, event.appeal_id, event.occurred_at, from_status
    ):
        if ctx.get("job_try", 1) < ctx["settings"].job_max_tries:
            raise NotYet(f"the change before {from_status} -> {change.to_status} is not planned yet")
        # Late is better than never: the last try plans it anyway.
        log.warning("feedback_order_gave_up", from_status=from_status, to_status=change.to_status)
    late = await order.superseded(session, event.appeal_id, event.occurred_at)
    contacts = await fetch_contacts(event.appeal_id)
    if contacts is None:
        log.warning("feedback_appeal_unknown", appeal_id=str(event.appeal_id))
        return
    conf = feedback_settings()
    openids = [r.openid for r in contacts.reporters if r.openid]
    planned = plan(
        contacts,
        change,
        occurred_at=event.occurred_at,
        now=utcnow(),
        last_messages=await last_messages(session, openids),
        window=timedelta(hours=conf.window_hours),
    )
    stored = await store(
        session,
        event.id,
        event.appeal_id,
        contacts.ticket_no,
        change.to_status,
        planned,
        occurred_at=event.occurred_at,
        from_status=from_status,
        skip_reason=order.SUPERSEDED if late else None,
    )
    for did in stored:
        await enqueue_delivery(ctx["redis"], did)
    log.info("feedback_planned", deliveries=len(planned), to_status=change.to_status)


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`appeal.status_changed`): plan, record and queue who hears of the change."""
    if event.appeal_id is None:
        return
    change = event.data_as(StatusChanged)
    await _tell(
        session, event, ctx, Change(to_status=change.to_status, reason=change.reason), change.from_status
    )


async def on_progressed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`appeal.progressed`): a linked duplicate's reporter hears of the master's
    progress, in the words intake put on the duplicate's own timeline."""
    master_status = event.data.get("master_status")
    if event.appeal_id is None or not master_status:
        return
    words = event.data.get("description")
    await _tell(
        session, event, ctx, Change(to_status=str(master_status), words=str(words) if words else None)
    )


async def on_extended(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`deadline.extended`): the reporter hears that a deadline moved (延期), in the
    words intake put on the public timeline (issue 16.2)."""
    words = event.data.get("description")
    if event.appeal_id is None or not words:
        return
    await _tell(session, event, ctx, Change(to_status="extended", words=str(words)))


def notice_words(notice_ends_at: datetime) -> str:
    """What a resident reads when their plan goes on public notice (公示)."""
    end = to_local(notice_ends_at)
    return f"协商议事已通过，办理方案公示至{end.month}月{end.day}日，公示期满无异议即组织实施"


async def on_noticed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`consultation.noticed`): the reporter hears that the plan is on public
    notice (公示), and until when."""
    if event.appeal_id is None:
        return
    data = event.data_as(ConsultationNoticed)
    await _tell(session, event, ctx, Change(to_status="noticed", words=notice_words(data.notice_ends_at)))


async def on_objected(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`consultation.objected`): the reporter hears that an objection during the
    notice sent the plan back to the community (公示的结果)."""
    if event.appeal_id is None:
        return
    words = "办理方案公示期间收到异议，将重新协商议事"
    await _tell(session, event, ctx, Change(to_status="objected", words=words))


# --- sending (gateway.deliver) -------------------------------------------------------------------


@dataclass(frozen=True)
class _Send:
    id: uuid.UUID
    event_id: uuid.UUID
    appeal_id: uuid.UUID
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


# --- sweeping (gateway.feedback_sweep) -----------------------------------------------------------


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
