"""Feedback: every change of status reaches the reporter on their channel, once.

The real intake runs as its own process (contacts, transitions, its outbox); the gateway's event
handler and delivery job run here on the real database and Redis; WeChat's message API and the
SMS gateway are local HTTP stand-ins speaking their protocols.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.connections import ArqRedis
from sqlalchemy import select, text, update

from intake.models import messaging as intake_messaging
from services.common.auth import Principal, mint_service_token
from services.common.db import get_sessionmaker, session_scope
from services.common.jobs import JobContext, event_consumer, job
from services.common.messaging import utcnow
from services.common.queue import connect, queue_name
from services.common.settings import get_settings
from services.contracts.events import AppealProgressed, Event, make_event
from services.gateway.handlers import HANDLERS
from services.gateway.models import FeedbackAttempt, FeedbackDelivery
from services.gateway.models import messaging as gateway_messaging
from services.gateway.service.feedback import service as feedback
from services.gateway.service.feedback.window import note_user_message
from tests.fakes.live_service import environment, live_service
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.wechat_api import FakeWechatApi

MP_APP, MP_SECRET = "wx-mp-test-app", "mp-secret"
OA_APP, OA_SECRET = "wx-oa-test-app", "oa-secret"
NO_DUPLICATES = {"GUANJIA_DUPLICATE_LINK_AT": "1.01", "GUANJIA_DUPLICATE_SUGGEST_AT": "1.01"}
CITY = Principal(
    staff_id="s-city", username="city.admin", role="city_admin", org_type="city", org_code="city"
)


@dataclass
class World:
    sms: FakeSmsGateway
    wechat: FakeWechatApi
    intake: httpx.AsyncClient
    redis: ArqRedis
    appeals: list[uuid.UUID]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    sms = FakeSmsGateway().start()
    wechat = FakeWechatApi({MP_APP: MP_SECRET, OA_APP: OA_SECRET}).start()
    env = {
        "GUANJIA_SMS_URL": sms.url,
        "GUANJIA_WECHAT_API_BASE": wechat.base,
        "GUANJIA_MINIPROGRAM_APP_ID": MP_APP,
        "GUANJIA_MINIPROGRAM_SECRET": MP_SECRET,
        "GUANJIA_MINIPROGRAM_STATUS_TEMPLATE": "tmpl-status-1",
        "GUANJIA_WECHAT_APP_ID": OA_APP,
        "GUANJIA_WECHAT_APP_SECRET": OA_SECRET,
    }
    try:
        # Our appeals repeat one matter on purpose: intake must not link them as duplicates.
        with live_service("intake", tmp_path_factory.mktemp("feedback"), env=NO_DUPLICATES) as intake_url:
            env["GUANJIA_INTAKE_URL"] = intake_url
            async with environment(env), httpx.AsyncClient(base_url=intake_url) as intake:
                redis = await connect()
                w = World(sms=sms, wechat=wechat, intake=intake, redis=redis, appeals=[])
                try:
                    yield w
                finally:
                    await _tidy(w)
                    await redis.aclose()
    finally:
        sms.stop()
        wechat.stop()


async def _tidy(w: World) -> None:
    # Leave nothing for another module's workers: our queued sends and our unrelayed events.
    queue = queue_name("gateway")
    for job_id in await w.redis.zrange(queue, 0, -1):
        name = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
        if name.startswith("feedback:"):
            await w.redis.zrem(queue, name)
            await w.redis.delete(f"arq:job:{name}")
    async with session_scope() as session:
        await session.execute(
            update(intake_messaging.outbox)
            .where(intake_messaging.outbox.c.appeal_id.in_(w.appeals))
            .values(published_at=utcnow())
        )


def ctx(w: World, job_try: int = 1) -> JobContext:
    return JobContext(
        redis=w.redis,
        db=get_sessionmaker(),
        tables=gateway_messaging,
        service="gateway",
        settings=get_settings(),
        job_try=job_try,
        job_id=f"test-{uuid.uuid4().hex[:8]}",
        extra={},
    )


def service_headers(actor: Principal | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token('gateway', actor)}"}


async def file(
    w: World, channel: str, *, phone: str | None = None, openid: str | None = None, **more: Any
) -> uuid.UUID:
    draft = {
        "channel": channel,
        "channel_ref": f"fb-{uuid.uuid4().hex}",
        # Not the street lights of 北栅 the system tests report: nothing here is their duplicate.
        "description": "霄边社区锦绣花园二次供水水压不足，高层住户经常停水。",
        "reporter": {"phone": phone, "openid": openid},
        "location": {"town_code": "441900119000", "village_code": "441900119002"},
        **more,
    }
    r = await w.intake.post("/internal/appeals", json=draft, headers=service_headers())
    assert r.status_code == 201, r.text
    appeal_id = uuid.UUID(r.json()["appeal_id"])
    w.appeals.append(appeal_id)
    return appeal_id


async def change(w: World, appeal_id: uuid.UUID, to: str, reason: str | None = None) -> dict[str, Any]:
    """A real transition in intake; returns the `appeal.status_changed` event it wrote."""
    r = await w.intake.post(
        f"/internal/appeals/{appeal_id}/transitions",
        json={"to": to, "reason": reason},
        headers=service_headers(CITY),
    )
    assert r.status_code == 200, r.text
    outbox = intake_messaging.outbox
    async with session_scope() as session:
        payload = await session.scalar(
            select(outbox.c.payload)
            .where(outbox.c.appeal_id == appeal_id, outbox.c.type == "appeal.status_changed")
            .order_by(outbox.c.seq.desc())
            .limit(1)
        )
    assert payload is not None and payload["data"]["to_status"] == to
    return dict(payload)


async def handle(w: World, payload: dict[str, Any]) -> Any:
    """The gateway worker's `gateway.handle_event` job, as arq would run it."""
    return await event_consumer("gateway", HANDLERS).coroutine(ctx(w), payload)  # type: ignore[arg-type]


async def deliveries(appeal_id: uuid.UUID) -> list[FeedbackDelivery]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(FeedbackDelivery)
            .where(FeedbackDelivery.appeal_id == appeal_id)
            .order_by(FeedbackDelivery.created_at, FeedbackDelivery.channel)
        )
        return list(rows.all())


async def attempts(delivery_id: uuid.UUID) -> list[FeedbackAttempt]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(FeedbackAttempt)
            .where(FeedbackAttempt.delivery_id == delivery_id)
            .order_by(FeedbackAttempt.attempt)
        )
        return list(rows.all())


async def deliver_all(w: World, appeal_id: uuid.UUID) -> dict[str, str]:
    """Run every open delivery of an appeal to its end (retrying as the worker would)."""
    out: dict[str, str] = {}
    for _ in range(10):  # a send may plan another (the SMS after a closed WeChat window)
        open_rows = [r for r in await deliveries(appeal_id) if r.status == "pending"]
        if not open_rows:
            return out
        for row in open_rows:
            try:
                out[str(row.id)] = await feedback.deliver(ctx(w), str(row.id))
            except feedback.DeliveryPending:
                continue
    raise AssertionError("deliveries did not settle")


async def age(appeal_id: uuid.UUID, days: int) -> None:
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE intake.appeals SET received_at = received_at - make_interval(days => :d) WHERE id = :id"
            ),
            {"d": days, "id": appeal_id},
        )


# --- once per change -----------------------------------------------------------------------------


async def test_a_caller_hears_once_per_change_even_when_replayed_or_raced(world: World) -> None:
    phone = "+8613976540001"
    appeal_id = await file(world, "hotline_12345", phone=phone)
    event = await change(world, appeal_id, "triaged")

    # Two workers take the same event at once, then it is replayed: planned once.
    results = await asyncio.gather(handle(world, event), handle(world, event))
    assert sorted(results) == ["duplicate", "handled"]
    assert await handle(world, event) == "duplicate"
    # Even without the inbox (say it was lost), the change plans no second delivery.
    async with session_scope() as session:
        await feedback.on_status_changed(session, Event.model_validate(event), ctx(world))
    [sms] = await deliveries(appeal_id)
    assert (sms.channel, sms.status, sms.recipient_masked) == ("sms", "pending", "139****0001")

    # Two workers race on the send, then the job is replayed: one message.
    raced = await asyncio.gather(
        feedback.deliver(ctx(world), str(sms.id)), feedback.deliver(ctx(world), str(sms.id))
    )
    assert "delivered" in raced and set(raced) <= {"delivered", "busy", "sending"}
    assert await feedback.deliver(ctx(world), str(sms.id)) == "delivered"
    sent = world.sms.sent_to(phone)
    assert len(sent) == 1 and len(world.sms.requests_with_key(str(sms.id))) == 1
    assert sent[0].template == "appeal_status_changed"
    [ticket] = [r.ticket_no for r in await deliveries(appeal_id)]
    assert sent[0].params["ticket_no"] == ticket and sent[0].params["status"] == "已分拣"
    assert ticket in sent[0].params["text"] and sent[0].params["text"].startswith("【民生大莞家】")

    # The next change is a message of its own.
    await handle(world, await change(world, appeal_id, "approved"))
    await deliver_all(world, appeal_id)
    assert [s.params["status"] for s in world.sms.sent_to(phone)] == ["已分拣", "方案已定"]
    assert [a.outcome for a in await attempts(sms.id)] == ["delivered"]


async def test_sms_is_retried_on_5xx_and_then_delivered_once(world: World) -> None:
    family = "+8613976540002"
    appeal_id = await file(
        world,
        "village_visit",
        reporter={"name": "李主任", "role": "cadre"},
        on_behalf_of={"name": "陈伯", "phone": family},
    )
    await handle(world, await change(world, appeal_id, "triaged"))
    [sms] = await deliveries(appeal_id)  # the family, not the cadre (who has no phone)
    world.sms.fail_next(503, 502)
    # Through the job wrapper: a transient failure is arq's Retry, with backoff.
    deliver_job = job(feedback.DELIVER_JOB, feedback.deliver)
    with pytest.raises(Retry):
        await deliver_job.coroutine(ctx(world, job_try=1), str(sms.id))  # type: ignore[arg-type]
    with pytest.raises(feedback.DeliveryPending):
        await feedback.deliver(ctx(world, job_try=2), str(sms.id))
    assert await feedback.deliver(ctx(world, job_try=3), str(sms.id)) == "delivered"
    log = await attempts(sms.id)
    assert [(a.outcome, a.http_status) for a in log] == [("retry", 503), ("retry", 502), ("delivered", 202)]
    assert len(world.sms.requests_with_key(str(sms.id))) == 3
    assert len(world.sms.sent_to(family)) == 1
    [done] = await deliveries(appeal_id)
    assert (done.status, done.attempts) == ("delivered", 3) and done.finished_at is not None


# --- WeChat --------------------------------------------------------------------------------------


async def test_a_mini_program_refusal_43101_is_final_and_recorded(world: World) -> None:
    refuser, keen = f"o-mp-{uuid.uuid4().hex[:12]}", f"o-mp-{uuid.uuid4().hex[:12]}"
    world.wechat.state.refusing.add(refuser)
    refused_appeal = await file(world, "wechat_miniprogram", openid=refuser, phone="+8613976540003")
    keen_appeal = await file(world, "wechat_miniprogram", openid=keen)
    for appeal_id in (refused_appeal, keen_appeal):
        await handle(world, await change(world, appeal_id, "triaged"))

    [refused] = await deliveries(refused_appeal)  # a subscribe message only: no SMS beside it
    assert refused.channel == "mp_subscribe"
    assert await feedback.deliver(ctx(world), str(refused.id)) == "refused"
    assert await feedback.deliver(ctx(world), str(refused.id)) == "refused"
    [attempt] = await attempts(refused.id)
    assert (attempt.outcome, attempt.errcode) == ("refused", 43101)
    assert len(world.wechat.attempts_for(refuser)) == 1
    assert world.sms.sent_to("+8613976540003") == []

    tokens_before = world.wechat.state.token_requests
    await deliver_all(world, keen_appeal)
    [message] = world.wechat.accepted_for(keen)
    assert message.api == "subscribe" and message.appid == MP_APP
    assert message.body["template_id"] == "tmpl-status-1"
    data = message.body["data"]
    [row] = await deliveries(keen_appeal)
    assert data["character_string1"]["value"] == row.ticket_no and data["phrase2"]["value"] == "已分拣"
    assert len(data["thing3"]["value"]) <= 20
    # The access token is cached in Redis; an expired one is fetched again once.
    assert world.wechat.state.token_requests == tokens_before
    world.wechat.expire_tokens()
    await handle(world, await change(world, keen_appeal, "approved"))
    await deliver_all(world, keen_appeal)
    assert [m.body["data"]["phrase2"]["value"] for m in world.wechat.accepted_for(keen)] == [
        "已分拣",
        "方案已定",
    ]
    assert world.wechat.state.token_requests == tokens_before + 1


async def test_the_48_hour_window_of_the_official_account(world: World) -> None:
    fresh, recent, old_phone, old_silent, closes = (f"o-oa-{i}-{uuid.uuid4().hex[:10]}" for i in range(5))
    # Filed just now: the filing message opened the window.
    a_fresh = await file(world, "wechat_official", openid=fresh, phone="+8613976540004")
    # Filed three days ago, but the user wrote an hour ago.
    a_recent = await file(world, "wechat_official", openid=recent)
    # Filed three days ago, silent since: an SMS instead, or nothing without a phone.
    a_old_phone = await file(world, "wechat_official", openid=old_phone, phone="+8613976540005")
    a_old_silent = await file(world, "wechat_official", openid=old_silent)
    # Open when planned, closed by the time WeChat is asked (45015): the SMS steps in.
    a_closes = await file(world, "wechat_official", openid=closes, phone="+8613976540006")
    for appeal_id in (a_recent, a_old_phone, a_old_silent):
        await age(appeal_id, 3)
    async with session_scope() as session:
        await note_user_message(session, recent, utcnow() - timedelta(hours=1))
        await note_user_message(session, recent, utcnow() - timedelta(hours=50))  # late: ignored
    world.wechat.state.window_closed.add(closes)
    for appeal_id in (a_fresh, a_recent, a_old_phone, a_old_silent, a_closes):
        await handle(world, await change(world, appeal_id, "triaged"))
        await deliver_all(world, appeal_id)

    def summary(rows: list[FeedbackDelivery]) -> list[tuple[str, str]]:
        return sorted((r.channel, r.status) for r in rows)

    assert summary(await deliveries(a_fresh)) == [("oa_custom", "delivered")]
    [message] = world.wechat.accepted_for(fresh)
    assert message.appid == OA_APP and message.body["msgtype"] == "text"
    assert "受理编号MS" in message.body["text"]["content"] and "分拣" in message.body["text"]["content"]
    assert world.sms.sent_to("+8613976540004") == []

    assert summary(await deliveries(a_recent)) == [("oa_custom", "delivered")]
    assert summary(await deliveries(a_old_phone)) == [("oa_custom", "skipped"), ("sms", "delivered")]
    assert world.wechat.attempts_for(old_phone) == []  # never asked WeChat outside the window
    assert len(world.sms.sent_to("+8613976540005")) == 1
    assert summary(await deliveries(a_old_silent)) == [("oa_custom", "skipped")]
    assert (await deliveries(a_old_silent))[0].last_result == "window_closed"

    assert summary(await deliveries(a_closes)) == [("oa_custom", "skipped"), ("sms", "delivered")]
    assert [a[2] for a in world.wechat.attempts_for(closes)] == [45015]
    assert len(world.sms.sent_to("+8613976540006")) == 1


async def test_a_rejection_tells_its_reason(world: World) -> None:
    phone = "+8613976540007"
    appeal_id = await file(world, "web_portal", phone=phone)
    await handle(world, await change(world, appeal_id, "rejected", reason="不属于民生诉求受理范围"))
    await deliver_all(world, appeal_id)
    [sms] = world.sms.sent_to(phone)
    assert sms.params["status"] == "不予受理" and "不属于民生诉求受理范围" in sms.params["text"]


async def test_a_linked_duplicate_hears_of_its_masters_progress(world: World) -> None:
    phone = "+8613976540008"
    appeal_id = await file(world, "hotline_12345", phone=phone)
    words = "合并办理的主诉求已开始办理（主诉求 MS20261127000001）"
    event = make_event(
        "appeal.progressed",
        "intake",
        AppealProgressed(description=words, master_id=uuid.uuid4(), master_status="in_progress"),
        appeal_id=appeal_id,
    )
    payload = event.model_dump(mode="json")
    assert await handle(world, payload) == "handled"
    assert await handle(world, payload) == "duplicate"
    await deliver_all(world, appeal_id)
    [sms] = world.sms.sent_to(phone)
    assert sms.params["status"] == "办理中" and words in sms.params["text"]
