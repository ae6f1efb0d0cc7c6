"""Official-account pushes: store, file with intake, answer within WeChat's time, follow up.

WeChat waits 5 s for an answer and then retries (three times); we answer within
`GUANJIA_WECHAT_REPLY_BUDGET` (0.8 s):
1. the push is stored (`wechat_pushes`, unique per WeChat's de-duplication key) and the
   user's last-message time noted for the 48-hour customer-service window;
2. its appeal is filed with intake (idempotent on channel + MsgId);
3. if both finish in time, the passive reply holds the ticket number and 查询码; if not
   (a slow database, intake away), the reply says the ticket will follow, the work carries on
   in the background, and the job `gateway.wechat_follow_up` (queued now, and re-queued by
   the sweep should Redis have lost it) files the appeal if need be and sends the ticket as a
   customer-service message — once: a send whose answer never came is not repeated.
A retry of a filed message is answered with the same ticket. A bare photo, location or file
(and a voice note WeChat did not transcribe, sent just after an appeal) joins the sender's open
appeal instead (a recognised voice note is an appeal of its own), and a
"查询 <ticket>" is answered with its status: see `wechat_conversation`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from datetime import timedelta
from functools import lru_cache
from typing import Any, Final

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, update

from services.common.db import session_scope
from services.common.errors import ServiceUnavailable
from services.common.jobs import JobContext, NotYet
from services.common.messaging import utcnow
from services.common.personal import mask_numbers
from services.common.queue import queue_name
from services.common.settings import get_settings
from services.gateway.config import feedback_settings
from services.gateway.models import WeChatPushRecord
from services.gateway.service.channels.wechat_conversation import (
    ticket_status,
)
from services.gateway.service.channels.wechat_dialogue import (
    QUERY_UNAVAILABLE,
    attaching_reply,
)
from services.gateway.service.channels.wechat_filing import file_inline, file_push, join
from services.gateway.service.channels.wechat_official import (
    DEFERRED,
    WINDOW_S,
    NonceReused,
    Plan,
    WeChatPush,
    follow_up_message,
    plan_for,
)
from services.gateway.service.channels.wechat_store import (
    sealed_fields,
    store,
    unsealed_fields,
)
from services.gateway.service.feedback.outcome import Outcome
from services.gateway.service.feedback.wechat import WechatApp, send_custom_text

log = structlog.get_logger(__name__)

FOLLOW_UP_JOB: Final = "gateway.wechat_follow_up"
# A push still unsettled this long after it arrived is picked up by the sweep.
SETTLE_AFTER: Final = timedelta(seconds=60)
# A send claimed this long ago without a recorded answer is given up as `unknown`.
SENDING_STALE: Final = timedelta(minutes=5)
MAX_SWEEPS: Final = 20

_background: set[asyncio.Task[Any]] = set()

# --- Redis: nonces and the follow-up queue --------------------------------------------------------


@lru_cache(maxsize=1)
def _redis() -> ArqRedis:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    client: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.5)
    return client


async def close_redis() -> None:
    """Close the process's connection (app shutdown)."""
    if _redis.cache_info().currsize:
        await _redis().aclose()
        _redis.cache_clear()


async def check_nonce(timestamp: str, nonce: str, body: bytes) -> None:
    """Refuse a (timestamp, nonce) already used for another message.

    The same message again under the same nonce is WeChat retrying: it passes, and the
    de-duplication answers it. With Redis away the check is skipped (logged): the signature
    and the timestamp window still hold, and de-duplication still stops double filing.
    """
    key = (
        f"{get_settings().queue_prefix}:wechat:nonce:"
        + hashlib.sha256(f"{timestamp}:{nonce}".encode()).hexdigest()
    )
    digest = hashlib.sha256(body).hexdigest()
    try:
        redis = _redis()
        if await redis.set(key, digest, nx=True, ex=2 * WINDOW_S + 60):
            return
        seen = await redis.get(key)
    except (RedisError, OSError, RuntimeError) as exc:
        log.warning("wechat_nonce_check_unavailable", error=repr(exc))
        return
    if seen is not None and (seen.decode() if isinstance(seen, bytes) else str(seen)) == digest:
        return
    raise NonceReused()


async def enqueue_follow_up(
    push: WeChatPush, safe: bool, attempt: int = 0, *, redis: ArqRedis | None = None
) -> None:
    """Queue the follow-up job; a stable job id makes a second enqueue a no-op. The push's fields
    travel encrypted (a dead-lettered job keeps its arguments in a table)."""
    await (redis or _redis()).enqueue_job(
        FOLLOW_UP_JOB,
        sealed_fields(push.fields),
        safe,
        _job_id=f"wechat-follow-up:{push.dedupe_key}:{attempt}",
        _queue_name=queue_name("gateway"),
    )


# --- background tasks ----------------------------------------------------------------------------


def _finished(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        # Already answered (deferred); the follow-up job or the sweep finishes the work.
        log.warning("wechat_background_failed", error=repr(exc))


def _spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    task = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_finished)
    return task


async def drain_background(wait_s: float = 15.0) -> None:
    """Wait for work that outlived its request (app shutdown, tests)."""
    if _background:
        await asyncio.wait(set(_background), timeout=wait_s)


async def _record_reply(push: WeChatPush, safe: bool, plan: Plan) -> None:
    try:
        await store(push, safe=safe, plan=plan)
    except Exception as exc:
        log.warning("wechat_push_not_stored", dedupe_key=push.dedupe_key, error=repr(exc))


async def _settle(push: WeChatPush, safe: bool, reply: str, deferred: bool) -> None:
    """After answering: remember the reply; a deferred one queues the follow-up."""
    if deferred:
        try:
            await enqueue_follow_up(push, safe)
        except (RedisError, OSError) as exc:
            # The sweep finds the push in the database and queues it later.
            log.warning("wechat_follow_up_not_queued", dedupe_key=push.dedupe_key, error=repr(exc))
    try:
        async with session_scope() as session:
            values: dict[str, Any] = {"reply_text": reply}
            if deferred:
                values["deferred"] = True
            await session.execute(
                update(WeChatPushRecord)
                .where(WeChatPushRecord.dedupe_key == push.dedupe_key)
                .values(**values)
            )
    except Exception as exc:
        log.warning("wechat_reply_not_recorded", dedupe_key=push.dedupe_key, error=repr(exc))


async def answer(push: WeChatPush, *, safe: bool, deadline: float) -> str:
    """The passive reply text for a push ('' when there is nothing to say), by `deadline`."""
    plan = plan_for(push)
    if plan.kind == "reply":
        _spawn(_record_reply(push, safe, plan))
        return plan.reply
    loop = asyncio.get_running_loop()
    if plan.kind == "query":
        _spawn(_record_reply(push, safe, plan))
        asked = _spawn(ticket_status(push.from_user, plan.ticket))
        done, _ = await asyncio.wait({asked}, timeout=max(0.0, deadline - loop.time()))
        if asked in done and asked.exception() is None:
            status: str = asked.result()
            return status
        return QUERY_UNAVAILABLE
    if plan.addition is not None:
        # Leave time to answer after waiting for the appeal this one joins.
        joined = _spawn(join(push, safe, plan, until=deadline - 0.1))
        done, _ = await asyncio.wait({joined}, timeout=max(0.0, deadline - loop.time()))
        if joined in done and joined.exception() is None:
            reply: str = joined.result()[0]
            _spawn(_settle(push, safe, reply, deferred=False))
            return reply
        later = DEFERRED if plan.kind == "file" else attaching_reply(push.msg_type)
        _spawn(_settle(push, safe, later, deferred=True))
        return later
    task = _spawn(file_inline(push, safe, plan))
    done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
    if task in done and task.exception() is None:
        reply = task.result()
        _spawn(_settle(push, safe, reply, deferred=False))
        return reply
    if task not in done:
        log.info("wechat_inline_filing_slow", dedupe_key=push.dedupe_key)
    _spawn(_settle(push, safe, DEFERRED, deferred=True))
    return DEFERRED


# --- the follow-up job ---------------------------------------------------------------------------


async def _claim_send(push: WeChatPush) -> bool:
    async with session_scope() as session:
        claimed = await session.scalar(
            update(WeChatPushRecord)
            .where(WeChatPushRecord.dedupe_key == push.dedupe_key, WeChatPushRecord.follow_up.is_(None))
            .values(follow_up="sending")
            .returning(WeChatPushRecord.id)
        )
    return claimed is not None


async def _record_send(push: WeChatPush, outcome: Outcome) -> None:
    state = {"delivered": "sent", "unknown": "unknown", "retry": None}.get(outcome.result, "failed")
    values: dict[str, Any] = {
        "follow_up": state,
        "last_error": None if state == "sent" else mask_numbers(outcome.detail)[:500],
    }
    if state is not None:
        values["followed_up_at"] = utcnow()
    async with session_scope() as session:
        await session.execute(
            update(WeChatPushRecord).where(WeChatPushRecord.dedupe_key == push.dedupe_key).values(**values)
        )


async def _send_follow_up(ctx: JobContext, openid: str, content: str) -> Outcome:
    settings, conf = get_settings(), feedback_settings()
    if not settings.wechat_app_id or not conf.wechat_app_secret:
        return Outcome("failed", detail="official account AppID/AppSecret not configured")
    app = WechatApp(app_id=settings.wechat_app_id, secret=conf.wechat_app_secret)
    return await send_custom_text(
        ctx["redis"],
        settings.wechat_api_base.rstrip("/"),
        app,
        openid=openid,
        content=content,
        timeout_s=conf.timeout_s,
    )


async def follow_up(ctx: JobContext, fields: str | dict[str, str], safe: bool) -> str:
    """Job `gateway.wechat_follow_up`: file the push's appeal if need be, then send its ticket.
    `fields` is the push's fields sealed by `sealed_fields` (a plain dict from jobs queued before)."""
    push = WeChatPush.from_fields(unsealed_fields(fields) if isinstance(fields, str) else fields)
    plan = plan_for(push)
    if plan.addition is not None:
        try:
            said, filed = await join(push, safe, plan, until=None)
        except ServiceUnavailable as exc:
            raise NotYet("intake unavailable") from exc
        if not filed:
            # An untranscribed voice note's deferred reply promised a ticket: say which appeal
            # it joined.
            if plan.kind == "file" and await _claim_send(push):
                outcome = await _send_follow_up(ctx, push.from_user, said)
                await _record_send(push, outcome)
                if outcome.result == "retry":
                    raise NotYet(f"follow-up: {outcome.detail}")
            return "joined or held"
    if plan.kind != "file":
        return "nothing to file"
    try:
        stored, ticket_no, query_code = await file_push(push, safe, plan, deferred=True)
    except ServiceUnavailable as exc:
        raise NotYet("intake unavailable") from exc
    if stored.follow_up is not None or not await _claim_send(push):
        return "already followed up"
    outcome = await _send_follow_up(ctx, push.from_user, follow_up_message(ticket_no, query_code))
    await _record_send(push, outcome)
    log.info("wechat_follow_up", dedupe_key=push.dedupe_key, outcome=outcome.result, errcode=outcome.errcode)
    if outcome.result == "retry":
        raise NotYet(f"follow-up: {outcome.detail}")
    return outcome.result


async def sweep(ctx: JobContext) -> int:
    """Re-queue pushes left unsettled (their job lost); give up sends left half-done."""
    now = utcnow()
    async with session_scope(ctx["db"]) as session:
        await session.execute(
            update(WeChatPushRecord)
            .where(WeChatPushRecord.follow_up == "sending", WeChatPushRecord.updated_at < now - SENDING_STALE)
            .values(follow_up="unknown", last_error="send interrupted; not repeated", followed_up_at=now)
        )
        rows = (
            await session.execute(
                update(WeChatPushRecord)
                .where(
                    WeChatPushRecord.received_at < now - SETTLE_AFTER,
                    WeChatPushRecord.attempts < MAX_SWEEPS,
                    or_(
                        and_(
                            WeChatPushRecord.files_appeal.is_(True),
                            or_(
                                WeChatPushRecord.appeal_id.is_(None),
                                WeChatPushRecord.deferred.is_(True) & WeChatPushRecord.follow_up.is_(None),
                            ),
                        ),
                        # An addition whose inline attempt did not finish (held ones wait quietly).
                        and_(
                            WeChatPushRecord.attaches.is_(True),
                            WeChatPushRecord.deferred.is_(True),
                            WeChatPushRecord.appeal_id.is_(None),
                        ),
                    ),
                )
                .values(attempts=WeChatPushRecord.attempts + 1)
                .returning(
                    WeChatPushRecord.fields,
                    WeChatPushRecord.fields_enc,
                    WeChatPushRecord.safe_mode,
                    WeChatPushRecord.attempts,
                )
            )
        ).all()
    for fields, fields_enc, safe, attempt in rows:
        verbatim = unsealed_fields(fields_enc) if fields_enc is not None else fields
        await enqueue_follow_up(WeChatPush.from_fields(verbatim), safe, attempt, redis=ctx["redis"])
    return len(rows)


async def sweep_cron(ctx: dict[str, Any]) -> None:
    """The cron entry: a failed sweep is retried by the next one."""
    try:
        await sweep(ctx)  # type: ignore[arg-type]
    except Exception as exc:
        log.warning("wechat_sweep_failed", error=repr(exc))
