"""A `503` means not recorded (issues 14.7 and 15.9). Intake runs as its own process with a pool of
two connections and short bounded waits; the test holds a lock every recording needs, so the pool
runs out, then lets go. Every hotline call the gateway answered `503` must have no appeal, and
sending it again must record it as new (`202`, never the `200` of a replay); every call answered
`202`/`200` must have exactly one. A call whose first answer from intake is lost after intake
recorded it is asked again by the gateway, and is still answered `202`: it is the call's first
delivery."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import delete, text

from services.common.db import session_scope
from services.common.settings import get_settings
from services.gateway.api.app import app as gateway_app
from services.gateway.api.hotline import canonical_hash
from services.gateway.models import InboundMessage
from services.gateway.service.channels.hotline import CHANNEL
from services.gateway.service.inbound import remember
from tests.fakes.live_service import environment, live_service
from tests.fakes.lossy_network import first_recording_answer_lost
from tests.system.harness import hotline_body, signed_headers

HOTLINE = "/api/v1/channels/hotline-12345/calls"
# Two connections, half a second's wait for one, two seconds' wait for a lock; no linking, since
# every call here tells the same matter.
TIGHT = {
    "GUANJIA_DB_POOL_SIZE": "2",
    "GUANJIA_DB_MAX_OVERFLOW": "0",
    "GUANJIA_DB_POOL_TIMEOUT": "0.5",
    "GUANJIA_DB_LOCK_TIMEOUT": "2",
    "GUANJIA_DUPLICATE_LINK_AT": "1.01",
    "GUANJIA_DUPLICATE_SUGGEST_AT": "1.01",
}
CALLS = 8


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    logs: Path = tmp_path_factory.mktemp("truthful-503")
    with live_service("intake", logs, env=TIGHT) as intake_url:
        async with (
            environment({"GUANJIA_INTAKE_URL": intake_url}),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway_app, client=("10.14.7.9", 40000)),
                base_url="http://gateway",
            ) as gw,
        ):
            yield gw


async def deliver(gw: httpx.AsyncClient, body: bytes) -> httpx.Response:
    """The hotline's signed delivery of one call body."""
    return await gw.post(
        HOTLINE, content=body, headers=signed_headers(get_settings().require("hotline_secret"), body)
    )


async def send(gw: httpx.AsyncClient, call_id: str) -> int:
    r = await deliver(gw, hotline_body(call_id))
    assert r.status_code in (200, 202, 503), (r.status_code, r.text)
    return r.status_code


async def recorded(call_id: str) -> int:
    async with session_scope() as session:
        n = await session.scalar(
            text(
                "SELECT count(*) FROM intake.appeals WHERE channel = 'hotline_12345' AND channel_ref = :ref"
            ),
            {"ref": call_id},
        )
    return int(n or 0)


async def hold_appeals_lock() -> asyncpg.Connection:
    """A transaction of the test's own holding a lock that every new appeal's INSERT waits on."""
    url = get_settings().database_url
    assert url is not None
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute("BEGIN")
    await conn.execute("LOCK TABLE intake.appeals IN SHARE MODE")
    return conn


async def assert_truthful(gw: httpx.AsyncClient, answers: dict[str, int]) -> None:
    """Every 503 left nothing, and is recorded as new when sent again; every 202/200 exactly once."""
    for call_id, status in answers.items():
        if status == 503:
            assert await recorded(call_id) == 0, call_id
            assert await send(gw, call_id) == 202, call_id
        assert await recorded(call_id) == 1, (call_id, status)


async def test_an_exhausted_pool_answers_503_and_records_nothing(gateway: httpx.AsyncClient) -> None:
    lock = await hold_appeals_lock()
    try:
        ids = [f"pool-out-{uuid.uuid4().hex}" for _ in range(CALLS)]
        statuses = await asyncio.gather(*(send(gateway, i) for i in ids))
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()
    # Nothing could be recorded while the lock was held: two calls waited for it until their lock
    # wait ran out, the others for a connection until theirs did.
    assert statuses == [503] * CALLS
    await assert_truthful(gateway, dict(zip(ids, statuses, strict=True)))


async def test_calls_racing_for_the_pool_are_answered_the_truth(gateway: httpx.AsyncClient) -> None:
    lock = await hold_appeals_lock()
    ids = [f"pool-race-{uuid.uuid4().hex}" for _ in range(CALLS)]
    tasks = {i: asyncio.create_task(send(gateway, i)) for i in ids}
    try:
        # Let go once the first caller has been answered (a connection's wait ran out): the calls
        # holding a connection then commit, and those still waiting race for the two connections.
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()
    answers = {i: await t for i, t in tasks.items()}
    assert 503 in answers.values()
    await assert_truthful(gateway, answers)


async def test_a_new_call_whose_answer_was_lost_is_still_answered_202(gateway: httpx.AsyncClient) -> None:
    call_id = f"answer-lost-{uuid.uuid4().hex}"
    body = hotline_body(call_id)
    async with first_recording_answer_lost() as lossy:
        first = await deliver(gateway, body)
        # Intake recorded the call on the first attempt; the gateway's second answered "existing".
        assert lossy.lost == 1
        assert first.status_code == 202, first.text
        assert await recorded(call_id) == 1

        # The hotline delivering the same call again is a replay: 200 with the first answer,
        # from the gateway's own record or, without it, from intake.
        again = await deliver(gateway, body)
        assert (again.status_code, again.json()) == (200, first.json())
        async with session_scope() as session:
            await session.execute(delete(InboundMessage).where(InboundMessage.channel_ref == call_id))
        from_intake = await deliver(gateway, body)
        assert (from_intake.status_code, from_intake.json()) == (200, first.json())
        assert await recorded(call_id) == 1


async def test_a_replay_is_answered_the_first_time_and_other_words_are_refused(
    gateway: httpx.AsyncClient,
) -> None:
    # The gateway asks intake first and keeps the answer after: a replay is answered by intake (or
    # by the kept answer), a call_id sent again with other words is refused, also when the other
    # words are only fields the draft does not carry, which intake alone cannot tell apart.
    call_id = f"replayed-{uuid.uuid4().hex}"
    body = hotline_body(call_id)
    first = await deliver(gateway, body)
    assert first.status_code == 202, first.text
    again = await deliver(gateway, body)
    assert (again.status_code, again.json()) == (200, first.json())
    for other in (
        hotline_body(call_id, summary="来电反映另一件事：小区门口的井盖丢失。"),
        hotline_body(call_id, line_quality="poor"),  # a field the draft ignores
    ):
        refused = await deliver(gateway, other)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "idempotency_key_reused"
    assert await recorded(call_id) == 1
    async with session_scope() as session:
        kept = await session.scalar(
            text("SELECT count(*) FROM gateway.inbound_messages WHERE channel_ref = :ref"), {"ref": call_id}
        )
    assert kept == 1


async def test_the_recorded_delivery_is_202_though_a_concurrent_replay_kept_the_answer_first(
    gateway: httpx.AsyncClient,
) -> None:
    # Twenty identical deliveries at once all reach intake; one is recorded, and a replay may keep
    # its answer in the gateway before the recorded one does. The recorded one is still the 202.
    call_id = f"raced-{uuid.uuid4().hex}"
    body = hotline_body(call_id)
    digest = canonical_hash(json.loads(body))
    assert await remember(CHANNEL, call_id, digest, {}, None, {"kept": "by a replay"})
    first = await deliver(gateway, body)
    assert first.status_code == 202, first.text
    assert await recorded(call_id) == 1
    assert first.json()["ticket_no"]
