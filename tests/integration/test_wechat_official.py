"""The 莞家政务 official account end to end: WeChat's pushes in, appeals in intake, replies out.

The gateway runs here (in-process ASGI) on the real database and Redis; intake runs as its own
process on a real port; WeChat's side is played by `tests.fakes.wechat_push` (an independent
implementation of the push protocol) and `tests.fakes.wechat_api` (its message API).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from services.common.db import session_scope
from services.common.reference import load_reference
from services.common.text import normalise_text
from services.gateway.api.app import app
from services.gateway.jobs import worker
from services.gateway.service.channels import wechat_inbox
from services.gateway.service.channels.wechat_official import DEFERRED, WELCOME
from tests.fakes.live_service import environment, live_service
from tests.fakes.wechat_api import FakeWechatApi
from tests.fakes.wechat_push import WeChatServer, fields_of, new_encoding_aes_key

PROBLEM = "application/problem+json"
APP_ID, APP_SECRET = "wx5f3b2a1c0d9e8f7a", "oa-app-secret-for-tests"
URL = "/api/v1/channels/wechat-official"
TICKET = re.compile(r"受理编号[:：]\s*(MS\d{14})")
CODE = re.compile(r"查询码[:：]\s*(\d{6})")


@dataclass
class World:
    wechat: WeChatServer
    api: FakeWechatApi
    gateway: httpx.AsyncClient


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    server = WeChatServer(token=secrets.token_hex(16), app_id=APP_ID, encoding_aes_key=new_encoding_aes_key())
    api = FakeWechatApi({APP_ID: APP_SECRET}).start()
    tmp = tmp_path_factory.mktemp("wechat")
    env = {
        "GUANJIA_WECHAT_TOKEN": server.token,
        "GUANJIA_WECHAT_AES_KEY": server.encoding_aes_key,
        "GUANJIA_WECHAT_APP_ID": APP_ID,
        "GUANJIA_WECHAT_APP_SECRET": APP_SECRET,
        "GUANJIA_WECHAT_API_BASE": api.base,
        "GUANJIA_DATA_DIR": str(tmp),
        # Generous on a busy test machine; the slow-database test holds the production 0.8 s.
        "GUANJIA_WECHAT_REPLY_BUDGET": "4",
    }
    try:
        with live_service("intake", tmp) as intake_url:
            env["GUANJIA_INTAKE_URL"] = intake_url
            async with (
                environment(env),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://gateway"
                ) as gateway,
            ):
                # What a long-running gateway has loaded already: text tables, reference data.
                normalise_text("暖机")
                load_reference()
                async with httpx.AsyncClient(base_url=intake_url) as intake:
                    await intake.get("/readyz")
                try:
                    yield World(wechat=server, api=api, gateway=gateway)
                finally:
                    await wechat_inbox.drain_background()
                    await wechat_inbox.close_redis()
    finally:
        api.stop()


def openid() -> str:
    return "o" + secrets.token_urlsafe(20).replace("-", "x").replace("_", "y")[:27]


def msg_id() -> int:
    return 6_000_000_000_000_000_000 + secrets.randbelow(10**18)


async def post(world: World, query: dict[str, str], body: bytes) -> httpx.Response:
    return await world.gateway.post(URL, params=query, content=body, headers={"Content-Type": "text/xml"})


async def scalar(sql: str, **params: Any) -> Any:
    async with session_scope() as session:
        return await session.scalar(text(sql), params)


async def appeals_for(ref: str) -> int:
    return int(
        await scalar(
            "SELECT count(*) FROM intake.appeals WHERE channel = 'wechat_official' AND channel_ref = :ref",
            ref=ref,
        )
    )


async def appeal_row(ref: str) -> Any:
    async with session_scope() as session:
        return (
            await session.execute(
                text(
                    "SELECT a.id, a.ticket_no, a.query_code, a.description, a.lat, a.lng, a.datum, a.town_code,"
                    " a.channel_extra, r.openid FROM intake.appeals a JOIN intake.reporters r ON r.appeal_id = a.id"
                    " WHERE a.channel = 'wechat_official' AND a.channel_ref = :ref"
                ),
                {"ref": ref},
            )
        ).one()


def ticket_and_code(content: str) -> tuple[str, str]:
    ticket, code = TICKET.search(content), CODE.search(content)
    assert ticket and code, content
    return ticket.group(1), code.group(1)


class TestVerification:
    async def test_echostr_is_echoed_for_a_good_signature(self, world: World) -> None:
        r = await world.gateway.get(URL, params=world.wechat.verify_query("4803417519523957812"))
        assert r.status_code == 200
        assert r.text == "4803417519523957812"

    async def test_bad_or_stale_signatures_are_refused(self, world: World) -> None:
        query = world.wechat.verify_query("123")
        bad = await world.gateway.get(URL, params={**query, "signature": "0" * 40})
        assert bad.status_code == 401
        assert bad.headers["content-type"].startswith(PROBLEM)
        assert bad.json()["code"] == "bad_signature"
        stale = await world.gateway.get(
            URL, params=world.wechat.verify_query("123", timestamp=int(time.time()) - 3600)
        )
        assert stale.status_code == 401
        assert stale.json()["code"] == "stale_timestamp"
        missing = await world.gateway.get(URL, params={"echostr": "123"})
        assert missing.status_code == 401

    async def test_a_push_with_a_bad_signature_files_nothing(self, world: World) -> None:
        mid = msg_id()
        body = world.wechat.message(openid(), "text", mid, Content="东坊大街路灯坏了好几盏，晚上很黑。")
        r = await post(world, {**world.wechat.query(), "signature": "f" * 40}, body)
        assert r.status_code == 401
        assert await appeals_for(str(mid)) == 0


class TestPlainMode:
    async def test_numbers_in_a_push_rest_masked_and_encrypted_only(self, world: World) -> None:
        user, mid = openid(), msg_id()
        words = "虎门镇北栅社区东坊大街路灯坏了，我的电话是139 2664 1258，身份证441900198807154210。"
        r = await post(
            world, world.wechat.query(openid=user), world.wechat.message(user, "text", mid, Content=words)
        )
        assert r.status_code == 200, r.text
        row = await appeal_row(str(mid))
        assert (
            row.description
            == "虎门镇北栅社区东坊大街路灯坏了，我的电话是139****1258，身份证4419**********4210。"
        )
        kept = await scalar(
            "SELECT fields->>'Content' FROM gateway.wechat_pushes WHERE msg_id = :m", m=str(mid)
        )
        assert kept == row.description
        assert await scalar(
            "SELECT fields_enc IS NOT NULL FROM gateway.wechat_pushes WHERE msg_id = :m", m=str(mid)
        )

    async def test_text_files_one_appeal_and_the_reply_holds_ticket_and_code(self, world: World) -> None:
        user, mid = openid(), msg_id()
        words = "虎门镇北栅社区东坊大街的路灯坏了好几盏，晚上黑漆漆的，老人小孩走路很危险，请尽快修好。"
        body = world.wechat.message(user, "text", mid, Content=words)
        query = world.wechat.query(openid=user)
        r = await post(world, query, body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/xml")
        reply = fields_of(r.content)
        assert reply["ToUserName"] == user
        assert reply["FromUserName"] == world.wechat.account
        assert reply["MsgType"] == "text"
        ticket, code = ticket_and_code(reply["Content"])

        row = await appeal_row(str(mid))
        assert (row.ticket_no, row.query_code) == (ticket, code)
        assert row.openid == user
        assert row.description == words
        assert row.town_code == "441900121000"  # 虎门, from the words

        # WeChat's retries (same query, or fresh ones) get the same answer and no second appeal.
        again = await post(world, query, body)
        fresh = await post(world, world.wechat.query(openid=user), body)
        for retry in (again, fresh):
            assert retry.status_code == 200
            assert ticket_and_code(fields_of(retry.content)["Content"]) == (ticket, code)
        assert await appeals_for(str(mid)) == 1
        assert await scalar("SELECT count(*) FROM gateway.wechat_pushes WHERE msg_id = :m", m=str(mid)) == 1

        # The resident can follow it publicly with the two values of the reply.
        public = await world.gateway.get(f"/api/v1/public/appeals/{ticket}", params={"code": code})
        assert public.status_code == 200
        assert public.json()["status"] == "received"

    async def test_a_reused_nonce_or_an_old_timestamp_is_refused(self, world: World) -> None:
        user = openid()
        query = world.wechat.query(openid=user)
        first = world.wechat.message(user, "text", msg_id(), Content="小区门口的垃圾堆了三天没人清。")
        assert (await post(world, query, first)).status_code == 200
        other_id = msg_id()
        other = world.wechat.message(user, "text", other_id, Content="另一条消息，同一个 nonce。")
        replayed = await post(world, query, other)
        assert replayed.status_code == 403
        assert replayed.json()["code"] == "nonce_reused"
        stale = await post(world, world.wechat.query(timestamp=int(time.time()) - 301), other)
        assert stale.status_code == 401
        assert stale.json()["code"] == "stale_timestamp"
        assert await appeals_for(str(other_id)) == 0

    async def test_hostile_or_oversized_xml_is_refused_before_parsing(self, world: World) -> None:
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
            b"<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>"
        )
        r = await post(world, world.wechat.query(), laughs)
        assert r.status_code == 400
        assert r.json()["code"] == "hostile_xml"
        big = world.wechat.message(openid(), "text", msg_id(), Content="路" * 30_000)
        assert len(big) > 64 * 1024
        r = await post(world, world.wechat.query(), big)
        assert r.status_code == 413
        assert r.json()["code"] == "body_too_large"
        # Hidden inside a safe-mode envelope, it is refused just the same.
        query, body = world.wechat.safe_push(laughs)
        r = await post(world, query, body)
        assert r.status_code == 400
        assert r.json()["code"] == "hostile_xml"

    async def test_voice_without_recognition_is_kept_and_flagged(self, world: World) -> None:
        user, mid = openid(), msg_id()
        body = world.wechat.message(user, "voice", mid, MediaId="MEDIA_voice_0001", Format="amr")
        r = await post(world, world.wechat.query(), body)
        content = fields_of(r.content)["Content"]
        ticket_and_code(content)
        assert "语音" in content
        row = await appeal_row(str(mid))
        assert row.channel_extra["needs_transcription"] is True
        kinds = await scalar(
            "SELECT string_agg(kind || ' ' || uri, ',') FROM intake.attachments WHERE appeal_id = :a",
            a=row.id,
        )
        assert kinds == "voice wechat-media:MEDIA_voice_0001"

    async def test_voice_with_recognition_becomes_the_text(self, world: World) -> None:
        mid = msg_id()
        said = "我是东城街道的居民，我们小区的电梯坏了一个星期了。"
        body = world.wechat.message(
            openid(), "voice", mid, MediaId="MEDIA_voice_2", Format="amr", Recognition=said
        )
        r = await post(world, world.wechat.query(), body)
        ticket_and_code(fields_of(r.content)["Content"])
        row = await appeal_row(str(mid))
        assert row.description == said
        assert "needs_transcription" not in row.channel_extra

    async def test_a_bare_image_or_location_files_no_appeal(self, world: World) -> None:
        # With no appeal of the sender's to join, a photo or a location waits (see
        # test_wechat_conversation) and files nothing: issue 16.6.
        user, pic, loc = openid(), msg_id(), msg_id()
        url = "http://mmbiz.qpic.cn/mmbiz_jpg/Q3auHgzwzM4fgQ/0"
        r = await post(
            world,
            world.wechat.query(),
            world.wechat.message(user, "image", pic, PicUrl=url, MediaId="MEDIA_pic"),
        )
        content = fields_of(r.content)["Content"]
        assert "照片" in content and "受理编号" not in content
        body = world.wechat.message(
            user,
            "location",
            loc,
            Location_X="22.824561",
            Location_Y="113.673432",
            Scale="15",
            Label="东莞市虎门镇北栅社区东坊大街",
        )
        r = await post(world, world.wechat.query(), body)
        assert "位置" in fields_of(r.content)["Content"]
        assert await appeals_for(str(pic)) == 0 and await appeals_for(str(loc)) == 0
        await wechat_inbox.drain_background()
        held = await scalar(
            "SELECT count(*) FROM gateway.wechat_pushes WHERE openid = :o AND attaches AND appeal_id IS NULL",
            o=user,
        )
        assert held == 2

    async def test_subscribe_gets_the_welcome_once_recorded(self, world: World) -> None:
        user, when = openid(), int(time.time())
        body = world.wechat.message(user, "event", None, create_time=when, Event="subscribe", EventKey="")
        for _ in range(3):  # WeChat's retries of one event
            r = await post(world, world.wechat.query(), body)
            assert fields_of(r.content)["Content"] == WELCOME
        await wechat_inbox.drain_background()
        key = f"evt:{user}:{when}:subscribe"
        assert await scalar("SELECT count(*) FROM gateway.wechat_pushes WHERE dedupe_key = :k", k=key) == 1
        assert (
            await scalar("SELECT count(*) FROM gateway.wechat_last_messages WHERE openid = :o", o=user) == 1
        )
        unsub = world.wechat.message(user, "event", None, Event="unsubscribe")
        r = await post(world, world.wechat.query(), unsub)
        assert r.text == "success"


class TestSafeMode:
    async def test_round_trip_with_signed_encrypted_reply(self, world: World) -> None:
        user, mid = openid(), msg_id()
        xml = world.wechat.message(user, "text", mid, Content="南城街道宏图社区的健身器材坏了，希望维修。")
        query, body = world.wechat.safe_push(xml, openid=user)
        r = await post(world, query, body)
        assert r.status_code == 200, r.text
        reply = world.wechat.open_reply(r.content)  # checks msg_signature and the app id
        assert reply["ToUserName"] == user
        ticket, code = ticket_and_code(reply["Content"])
        row = await appeal_row(str(mid))
        assert (row.ticket_no, row.query_code) == (ticket, code)
        assert (
            await scalar("SELECT safe_mode FROM gateway.wechat_pushes WHERE msg_id = :m", m=str(mid)) is True
        )

        # A retry of the encrypted push: the same ticket, still one appeal.
        again = world.wechat.open_reply((await post(world, query, body)).content)
        assert ticket_and_code(again["Content"]) == (ticket, code)
        assert await appeals_for(str(mid)) == 1

    async def test_a_wrong_msg_signature_is_refused(self, world: World) -> None:
        mid = msg_id()
        query, body = world.wechat.safe_push(
            world.wechat.message(openid(), "text", mid, Content="测试一条诉求内容")
        )
        r = await post(world, {**query, "msg_signature": "0" * 40}, body)
        assert r.status_code == 401
        # An envelope sealed for another app id does not open either.
        other = WeChatServer(world.wechat.token, "wx0000000000000000", world.wechat.encoding_aes_key)
        query, body = other.safe_push(world.wechat.message(openid(), "text", mid, Content="测试一条诉求内容"))
        r = await post(world, query, body)
        assert r.status_code == 401
        assert await appeals_for(str(mid)) == 0


class TestSlowDatabase:
    async def test_answered_within_a_second_and_the_ticket_follows(self, world: World) -> None:
        user, mid = openid(), msg_id()
        body = world.wechat.message(user, "text", mid, Content="常平镇袁山贝村的排水沟堵了，下雨就水浸街。")
        async with environment({"GUANJIA_WECHAT_REPLY_BUDGET": "0.8"}):
            conn = await asyncpg.connect(os.environ["DATABASE_URL"])
            try:
                # Intake's writes to appeals now wait, as behind a slow or locked database.
                tx = conn.transaction()
                await tx.start()
                await conn.execute("LOCK TABLE intake.appeals IN SHARE ROW EXCLUSIVE MODE")
                started = time.perf_counter()
                r = await post(world, world.wechat.query(openid=user), body)
                elapsed = time.perf_counter() - started
                assert r.status_code == 200
                assert elapsed < 1.0, elapsed
                assert fields_of(r.content)["Content"] == DEFERRED
                await asyncio.sleep(0.3)
                await tx.rollback()
            finally:
                await conn.close()
            await wechat_inbox.drain_background()

        w = worker(burst=True)
        try:
            await w.main()
        finally:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
                await w.close()

        assert await appeals_for(str(mid)) == 1
        row = await appeal_row(str(mid))
        sent = world.api.accepted_for(user)
        assert len(sent) == 1, world.api.attempts_for(user)
        assert sent[0].api == "custom"
        assert ticket_and_code(sent[0].body["text"]["content"]) == (row.ticket_no, row.query_code)
        assert (
            await scalar("SELECT follow_up FROM gateway.wechat_pushes WHERE msg_id = :m", m=str(mid))
            == "sent"
        )

        # WeChat retrying later gets the ticket in the passive reply; no second message goes out.
        r = await post(world, world.wechat.query(openid=user), body)
        assert ticket_and_code(fields_of(r.content)["Content"]) == (row.ticket_no, row.query_code)
        assert len(world.api.accepted_for(user)) == 1
