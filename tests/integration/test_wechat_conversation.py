"""The official account as a conversation (issue 16.6), over WeChat's real push protocol.

A photo, untranscribed voice note, location or file sent just after an appeal joins it (once per
MsgId; a recognised voice note is an appeal of its own), also
when it arrives while the appeal is still being filed; one sent first waits for the appeal;
"查询 <ticket>" answers the sender's own appeal and nothing of anyone else's; greetings and
stickers get help, not a ticket. The window is measured on WeChat's CreateTime, so the tests
move through it by the messages' own times, never by waiting.
"""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from typing import Any

from services.gateway.service.channels import wechat_inbox
from services.gateway.service.channels.wechat_dialogue import HELP
from services.gateway.service.channels.wechat_store import sealed_fields
from services.gateway.service.client import call
from tests.fakes.wechat_push import fields_of
from tests.integration.test_wechat_official import (
    World,
    appeal_row,
    appeals_for,
    msg_id,
    openid,
    post,
    scalar,
    ticket_and_code,
    world,
)

__all__ = ["world"]  # the module-scoped fixture: the gateway, intake and WeChat's side
PIC = "http://mmbiz.qpic.cn/mmbiz_jpg/Q3auHgzwzM4fgQ/{}"


async def send(world: World, user: str, msg_type: str, mid: int | None, when: int, **fields: str) -> str:
    body = world.wechat.message(user, msg_type, mid, create_time=when, **fields)
    r = await post(world, world.wechat.query(openid=user), body)
    assert r.status_code == 200, r.text
    return fields_of(r.content)["Content"] if r.text != "success" else ""


async def attachments_of(appeal_id: Any) -> list[str]:
    kinds = await scalar(
        "SELECT string_agg(kind || ' ' || uri, ',' ORDER BY kind, uri) FROM intake.attachments WHERE appeal_id = :a",
        a=appeal_id,
    )
    return str(kinds).split(",") if kinds else []


async def additions_of(appeal_id: Any) -> int:
    return int(await scalar("SELECT count(*) FROM intake.additions WHERE appeal_id = :a", a=appeal_id))


async def wechat_appeals_of(user: str) -> int:
    return int(
        await scalar(
            "SELECT count(*) FROM intake.appeals a JOIN intake.reporters r ON r.appeal_id = a.id"
            " WHERE a.channel = 'wechat_official' AND r.openid = :o",
            o=user,
        )
    )


class TestAdditions:
    async def test_a_photo_after_a_voice_appeal_joins_it_once(self, world: World) -> None:
        user, voice, pic, now = openid(), msg_id(), msg_id(), int(time.time())
        said = "虎门镇北栅社区东坊大街的路灯坏了好几盏，晚上很黑。"
        reply = await send(
            world, user, "voice", voice, now, MediaId="MEDIA_v1", Format="amr", Recognition=said
        )
        ticket, _ = ticket_and_code(reply)
        row = await appeal_row(str(voice))

        answer = await send(world, user, "image", pic, now + 1, PicUrl=PIC.format(1), MediaId="MEDIA_p1")
        assert ticket in answer and "补充" in answer
        # WeChat retrying the photo: the same answer, nothing twice.
        again = await send(world, user, "image", pic, now + 1, PicUrl=PIC.format(1), MediaId="MEDIA_p1")
        assert again == answer
        assert await appeals_for(str(pic)) == 0
        assert await wechat_appeals_of(user) == 1
        assert await attachments_of(row.id) == [f"photo {PIC.format(1)}", "voice wechat-media:MEDIA_v1"]
        assert await additions_of(row.id) == 1
        # Staff see it on the timeline; the public timeline moves only with the status.
        staff_line = await scalar(
            "SELECT public_description FROM intake.timeline WHERE appeal_id = :a AND NOT public", a=row.id
        )
        assert staff_line == "居民补充了照片"

    async def test_safe_mode_photo_joins_and_the_reply_is_sealed(self, world: World) -> None:
        user, text_id, pic, now = openid(), msg_id(), msg_id(), int(time.time())
        xml = world.wechat.message(user, "text", text_id, create_time=now, Content="凤岗镇雁田村的路灯坏了。")
        query, body = world.wechat.safe_push(xml, openid=user)
        ticket, _ = ticket_and_code(
            world.wechat.open_reply((await post(world, query, body)).content)["Content"]
        )
        photo = world.wechat.message(
            user, "image", pic, create_time=now + 2, PicUrl=PIC.format(6), MediaId="MEDIA_p6"
        )
        query, body = world.wechat.safe_push(photo, openid=user)
        reply = world.wechat.open_reply((await post(world, query, body)).content)  # checks msg_signature
        assert ticket in reply["Content"] and reply["ToUserName"] == user
        row = await appeal_row(str(text_id))
        assert f"photo {PIC.format(6)}" in await attachments_of(row.id)

    async def test_a_spoken_appeal_just_after_another_gets_its_own_ticket(self, world: World) -> None:
        # "路灯坏了", then two minutes later, by voice, a second matter: two appeals, two tickets.
        user, text_id, voice, now = openid(), msg_id(), msg_id(), int(time.time())
        first, _ = ticket_and_code(
            await send(world, user, "text", text_id, now, Content="中堂镇槎滘村的路灯坏了。")
        )
        said = "另外楼道一直漏水"
        reply = await send(
            world, user, "voice", voice, now + 120, MediaId="MEDIA_v8", Format="amr", Recognition=said
        )
        second, _ = ticket_and_code(reply)
        assert second != first
        assert await wechat_appeals_of(user) == 2
        spoken = await appeal_row(str(voice))
        assert await attachments_of(spoken.id) == ["voice wechat-media:MEDIA_v8"]
        written = await appeal_row(str(text_id))
        assert await attachments_of(written.id) == [] and await additions_of(written.id) == 0

    async def test_a_deferred_voice_note_that_joined_says_so_by_message(self, world: World) -> None:
        # The follow-up job of an untranscribed voice note whose passive reply could only promise
        # a ticket.
        user, text_id, voice, now = openid(), msg_id(), msg_id(), int(time.time())
        ticket, _ = ticket_and_code(
            await send(world, user, "text", text_id, now, Content="大朗镇松柏朗村的水管爆了。")
        )
        xml = world.wechat.message(
            user, "voice", voice, create_time=now + 3, MediaId="MEDIA_v7", Format="amr"
        )
        fields = {c.tag: c.text or "" for c in ET.fromstring(xml)}
        ctx: Any = {"redis": wechat_inbox._redis()}
        assert await wechat_inbox.follow_up(ctx, sealed_fields(fields), False) == "joined or held"
        sent = world.api.accepted_for(user)
        assert len(sent) == 1 and ticket in sent[0].body["text"]["content"]
        assert await wechat_appeals_of(user) == 1
        # Run again (a retry of the job): nothing twice.
        await wechat_inbox.follow_up(ctx, sealed_fields(fields), False)
        assert len(world.api.accepted_for(user)) == 1
        row = await appeal_row(str(text_id))
        assert "voice wechat-media:MEDIA_v7" in await attachments_of(row.id)

    async def test_a_location_and_a_file_join_a_text_appeal(self, world: World) -> None:
        user, text_id, loc, doc, now = openid(), msg_id(), msg_id(), msg_id(), int(time.time())
        ticket, _ = ticket_and_code(
            await send(world, user, "text", text_id, now, Content="东坊大街有个井盖不见了，很危险。")
        )
        row = await appeal_row(str(text_id))
        answer = await send(
            world,
            user,
            "location",
            loc,
            now + 30,
            Location_X="22.824561",
            Location_Y="113.673432",
            Scale="15",
            Label="东莞市虎门镇北栅社区东坊大街",
        )
        assert ticket in answer
        assert ticket in await send(world, user, "file", doc, now + 60, Title="现场说明.docx", FileKey="FK_1")
        added = await scalar(
            "SELECT string_agg(coalesce(address, '') || '@' || coalesce(lat::text, ''), ',')"
            " FROM intake.additions WHERE appeal_id = :a",
            a=row.id,
        )
        assert "东莞市虎门镇北栅社区东坊大街@22.824561" in added
        assert "document wechat-media:FK_1" in await attachments_of(row.id)
        assert await wechat_appeals_of(user) == 1

    async def test_the_race_a_photo_while_the_voice_appeal_is_being_filed(self, world: World) -> None:
        for _ in range(3):
            user, voice, pic, now = openid(), msg_id(), msg_id(), int(time.time())
            said = "南城街道宏图社区的健身器材坏了，小孩玩很危险。"
            voice_reply, photo_reply = await asyncio.gather(
                send(world, user, "voice", voice, now, MediaId="MEDIA_rv", Format="amr", Recognition=said),
                send(world, user, "image", pic, now + 1, PicUrl=PIC.format(2), MediaId="MEDIA_rp"),
            )
            await wechat_inbox.drain_background()
            assert await wechat_appeals_of(user) == 1, (voice_reply, photo_reply)
            row = await appeal_row(str(voice))
            assert f"photo {PIC.format(2)}" in await attachments_of(row.id)
            assert await additions_of(row.id) == 1
            assert "受理编号" not in photo_reply or row.ticket_no in photo_reply

    async def test_a_photo_sent_first_waits_for_the_appeal(self, world: World) -> None:
        user, pic, text_id, now = openid(), msg_id(), msg_id(), int(time.time())
        held = await send(world, user, "image", pic, now, PicUrl=PIC.format(3), MediaId="MEDIA_p3")
        assert "受理编号" not in held and "说明" in held
        assert await wechat_appeals_of(user) == 0
        await send(world, user, "text", text_id, now + 40, Content="照片里是常平镇袁山贝村的排水沟，堵了。")
        row = await appeal_row(str(text_id))
        assert f"photo {PIC.format(3)}" in await attachments_of(row.id)
        assert await wechat_appeals_of(user) == 1

    async def test_outside_the_window_nothing_joins(self, world: World) -> None:
        user, text_id, pic, voice, now = openid(), msg_id(), msg_id(), msg_id(), int(time.time())
        await send(world, user, "text", text_id, now - 1300, Content="厚街镇河田社区的公厕没有水。")
        row = await appeal_row(str(text_id))
        held = await send(world, user, "image", pic, now - 500, PicUrl=PIC.format(4), MediaId="MEDIA_p4")
        assert "受理编号" not in held
        assert await attachments_of(row.id) == []
        # A voice note long after the appeal is an appeal of its own.
        reply = await send(
            world,
            user,
            "voice",
            voice,
            now,
            MediaId="MEDIA_v4",
            Format="amr",
            Recognition="厚街镇河田社区的路面塌了。",
        )
        ticket, _ = ticket_and_code(reply)
        assert ticket != row.ticket_no
        assert await wechat_appeals_of(user) == 2

    async def test_nothing_joins_a_finished_appeal(self, world: World) -> None:
        user, text_id, pic, voice, now = openid(), msg_id(), msg_id(), msg_id(), int(time.time())
        await send(world, user, "text", text_id, now, Content="石排镇的一处人行道砖块松动了。")
        row = await appeal_row(str(text_id))
        withdrawn = await call(
            "intake",
            "POST",
            f"/internal/appeals/{row.id}/withdraw-by-resident",
            json={"openid": user, "reason": "已自行解决"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        held = await send(world, user, "image", pic, now + 5, PicUrl=PIC.format(5), MediaId="MEDIA_p5")
        assert "受理编号" not in held
        # A voice note then is an appeal of its own, and the photo waiting joins that one.
        reply = await send(
            world,
            user,
            "voice",
            voice,
            now + 9,
            MediaId="MEDIA_v5",
            Format="amr",
            Recognition="石排镇的路面砖松了。",
        )
        ticket, _ = ticket_and_code(reply)
        assert ticket != row.ticket_no
        assert await attachments_of(row.id) == []
        again = await appeal_row(str(voice))
        assert f"photo {PIC.format(5)}" in await attachments_of(again.id)


class TestStatusAndNoise:
    async def test_query_answers_only_the_senders_own_ticket(self, world: World) -> None:
        owner, other, mid, now = openid(), openid(), msg_id(), int(time.time())
        ticket, _ = ticket_and_code(
            await send(world, owner, "text", mid, now, Content="石龙镇中山东路的路灯坏了三盏。")
        )
        mine = await send(world, owner, "text", msg_id(), now + 5, Content=f"查询 {ticket}")
        assert ticket in mine and "当前状态：已受理" in mine

        theirs = await send(world, other, "text", msg_id(), now + 6, Content=f"查询 {ticket}")
        unknown = await send(world, other, "text", msg_id(), now + 7, Content="查询 MS20000101999999")
        assert "已受理" not in theirs and "石龙" not in theirs
        # Another person's ticket and a ticket that does not exist read the same.
        assert theirs.replace(ticket, "X") == unknown.replace("MS20000101999999", "X")
        assert await wechat_appeals_of(owner) == 1 and await wechat_appeals_of(other) == 0
        # "查询" alone lists the sender's own appeals, and nobody else's.
        listed = await send(world, owner, "text", msg_id(), now + 8, Content="查询")
        assert ticket in listed and "已受理" in listed
        assert ticket not in await send(world, other, "text", msg_id(), now + 9, Content="查询进度")

    async def test_greetings_punctuation_and_stickers_get_help(self, world: World) -> None:
        user, now = openid(), int(time.time())
        for i, words in enumerate(
            ("你好", "你好！在吗？", "?", "【收到不支持的消息类型，暂无法显示】", "[微笑]")
        ):
            assert await send(world, user, "text", msg_id(), now + i, Content=words) == HELP
        await wechat_inbox.drain_background()
        assert await wechat_appeals_of(user) == 0
        filed = await scalar(
            "SELECT count(*) FROM gateway.wechat_pushes WHERE openid = :o AND (files_appeal OR attaches)",
            o=user,
        )
        assert filed == 0
