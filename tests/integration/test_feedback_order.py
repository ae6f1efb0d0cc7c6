"""Feedback in lifecycle order (issue 16.5): residents are never told 方案已定 or 协商议事 before
已分拣, whatever order the gateway's workers take the changes and the sends in.

The real intake runs as its own process (its transitions and outbox make the events); the
gateway's event consumer and delivery job run here on the real database and Redis, fed the
events out of order; WeChat's message API is the local stand-in.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from arq import Retry

from services.common.jobs import event_consumer
from services.common.settings import get_settings
from services.contracts.events import DeadlineChanged, make_event
from services.gateway.handlers import HANDLERS
from services.gateway.service.feedback import service as feedback
from tests.integration.test_feedback import (
    World,
    change,
    ctx,
    deliver_all,
    deliveries,
    file,
    handle,
    world,
)

__all__ = ["world"]  # the module-scoped fixture, shared with the feedback tests


def _phrases(w: World, openid: str) -> list[str]:
    return [m.body["data"]["phrase2"]["value"] for m in w.wechat.accepted_for(openid)]


def _extended(appeal_id: uuid.UUID) -> dict[str, Any]:
    """A `deadline.extended` as the deadlines service writes it, stamped now."""
    data = DeadlineChanged(
        clock_id=uuid.uuid4(),
        clock="handling",
        due_at=None,
        due_date=None,
        provisional=False,
        state="running",
        description="办理时限经批准延期至12月20日",
    )
    return make_event("deadline.extended", "deadlines", data, appeal_id=appeal_id).model_dump(mode="json")


async def test_changes_taken_out_of_order_are_told_in_order(world: World) -> None:
    openid = f"o-mp-order-{uuid.uuid4().hex[:10]}"
    appeal_id = await file(world, "wechat_miniprogram", openid=openid)
    triaged = await change(world, appeal_id, "triaged")
    approved = await change(world, appeal_id, "approved")

    # A worker takes 方案已定 first: the change before it is not planned yet, so it waits.
    with pytest.raises(Retry):
        await handle(world, approved)
    assert await deliveries(appeal_id) == []
    assert await handle(world, triaged) == "handled"
    assert await handle(world, approved) == "handled"

    # The sends, taken newest first: the later one waits for the earlier one to the same person.
    first, second = sorted(await deliveries(appeal_id), key=lambda r: r.occurred_at or r.created_at)
    assert (first.to_status, second.to_status) == ("triaged", "approved")
    with pytest.raises(feedback.DeliveryPending):
        await feedback.deliver(ctx(world), str(second.id))
    assert world.wechat.accepted_for(openid) == []
    assert await feedback.deliver(ctx(world), str(first.id)) == "delivered"
    assert await feedback.deliver(ctx(world), str(second.id)) == "delivered"
    assert _phrases(world, openid) == ["已分拣", "方案已定"]


async def test_a_change_arriving_after_a_later_one_was_told_is_never_sent(world: World) -> None:
    openid = f"o-mp-order-{uuid.uuid4().hex[:10]}"
    appeal_id = await file(world, "wechat_miniprogram", openid=openid)
    triaged = await change(world, appeal_id, "triaged")
    consulting = await change(world, appeal_id, "consulting")

    # 协商议事 waited for 已分拣 through every try; the last one plans it anyway (late, not lost).
    last_try = ctx(world, job_try=get_settings().job_max_tries)
    consumer = event_consumer("gateway", HANDLERS)
    assert await consumer.coroutine(last_try, consulting) == "handled"  # type: ignore[arg-type]
    await deliver_all(world, appeal_id)
    assert _phrases(world, openid) == ["协商议事"]

    # 已分拣 turns up afterwards: stored, skipped as superseded, never sent after 协商议事.
    assert await handle(world, triaged) == "handled"
    await deliver_all(world, appeal_id)
    late = [r for r in await deliveries(appeal_id) if r.to_status == "triaged"]
    assert [(r.status, r.last_result) for r in late] == [("skipped", "superseded")]
    assert _phrases(world, openid) == ["协商议事"]


async def test_in_order_changes_are_planned_and_sent_at_once(world: World) -> None:
    openid = f"o-mp-order-{uuid.uuid4().hex[:10]}"
    appeal_id = await file(world, "wechat_miniprogram", openid=openid)
    for to in ("triaged", "consulting", "approved"):
        assert await handle(world, await change(world, appeal_id, to)) == "handled"
    await deliver_all(world, appeal_id)
    assert _phrases(world, openid) == ["已分拣", "协商议事", "方案已定"]


async def test_news_planned_first_does_not_silence_an_earlier_status_change(world: World) -> None:
    openid = f"o-mp-order-{uuid.uuid4().hex[:10]}"
    appeal_id = await file(world, "wechat_miniprogram", openid=openid)
    assert await handle(world, await change(world, appeal_id, "triaged")) == "handled"
    on_hold = await change(world, appeal_id, "on_hold", reason="请补充房屋产权证明")
    # The extension, stamped after 待补材料, is planned while 待补材料 waits for its retry.
    assert await handle(world, _extended(appeal_id)) == "handled"
    assert await handle(world, on_hold) == "handled"
    [held] = [r for r in await deliveries(appeal_id) if r.to_status == "on_hold"]
    assert (held.status, held.last_result) == ("pending", None)
    await deliver_all(world, appeal_id)
    assert _phrases(world, openid) == ["已分拣", "待补材料", "时限延期"]


async def test_a_status_change_planned_first_does_not_silence_earlier_news(world: World) -> None:
    openid = f"o-mp-order-{uuid.uuid4().hex[:10]}"
    appeal_id = await file(world, "wechat_miniprogram", openid=openid)
    assert await handle(world, await change(world, appeal_id, "triaged")) == "handled"
    extended = _extended(appeal_id)
    assert (
        await handle(world, await change(world, appeal_id, "on_hold", reason="请补充房屋产权证明"))
        == "handled"
    )
    # The extension, stamped before 待补材料, turns up after it: still news, still told.
    assert await handle(world, extended) == "handled"
    await deliver_all(world, appeal_id)
    assert _phrases(world, openid) == ["已分拣", "时限延期", "待补材料"]
