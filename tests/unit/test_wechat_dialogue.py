"""What a resident's words mean to the official account: noise, status questions, additions."""

from __future__ import annotations

import pytest

from services.gateway.service.channels.wechat_dialogue import (
    HELP,
    asked_ticket,
    asks_status,
    attached_reply,
    held_media_reply,
    is_noise,
    not_found_reply,
    own_list_reply,
)
from services.gateway.service.channels.wechat_official import WeChatPush, plan_for

OPENID = "oQx1n5Dk3m9Vb7Lp2Rz8Ts4Wq6Ey"


def push(msg_type: str, **fields: str) -> WeChatPush:
    return WeChatPush.from_fields(
        {
            "ToUserName": "gh_x",
            "FromUserName": OPENID,
            "CreateTime": "1795000000",
            "MsgType": msg_type,
            "MsgId": "6054768590064713728",
            **fields,
        }
    )


class TestNoise:
    @pytest.mark.parametrize(
        "text",
        [
            "你好",
            "你好！",
            "您好，在吗？",
            "?",
            "？？？",
            "。。。",
            "[微笑]",
            "/::)",
            "👍",
            "谢谢[抱拳]",
            "好的，谢谢",
            "【收到不支持的消息类型，暂无法显示】",
            "Hello!",
            "  ",
        ],
    )
    def test_noise_asks_for_nothing(self, text: str) -> None:
        assert is_noise(text)

    @pytest.mark.parametrize(
        "text",
        [
            "你好，我们小区路灯坏了",
            "东坊大街路灯坏了",
            "好臭",  # a complaint that starts like "好" is not small talk
            "在吗？楼下垃圾三天没人清",
            "谢谢你们上次修好了路灯，这次是水管漏水",
        ],
    )
    def test_words_that_ask_for_something_are_not_noise(self, text: str) -> None:
        assert not is_noise(text)

    def test_noise_gets_the_help_reply_not_an_appeal(self) -> None:
        for text in ("你好！", "?", "【收到不支持的消息类型，暂无法显示】", "[微笑][微笑]"):
            plan = plan_for(push("text", Content=text))
            assert (plan.kind, plan.reply, plan.draft) == ("reply", HELP, None)
        assert "查询" in HELP


class TestStatusQuestion:
    @pytest.mark.parametrize(
        "text",
        [
            "查询 MS20261206000013",
            "查询MS20261206000013",
            "查询：MS20261206000013",
            "ms20261206000013",
            "ＭＳ２０２６１２０６００００１３",
            "MS20261206000013的进度",
            "帮我查一下MS20261206000013",
        ],
    )
    def test_a_ticket_question(self, text: str) -> None:
        assert asked_ticket(text) == "MS20261206000013"
        plan = plan_for(push("text", Content=text))
        assert (plan.kind, plan.ticket, plan.draft) == ("query", "MS20261206000013", None)

    @pytest.mark.parametrize("text", ["查询", "查询进度", "我的诉求", "查询码 031415", "进度？"])
    def test_a_status_question_without_a_ticket(self, text: str) -> None:
        assert asks_status(text) and asked_ticket(text) is None
        plan = plan_for(push("text", Content=text))
        assert (plan.kind, plan.ticket, plan.draft) == ("query", None, None)

    def test_the_own_list_answer(self) -> None:
        assert "还没有" in own_list_reply([])
        listed = own_list_reply(
            [("MS20261206000013", "办理中", "路灯坏了"), ("MS20261205000002", "已办结", "")]
        )
        assert listed.splitlines()[1:3] == ["MS20261206000013 办理中（路灯坏了）", "MS20261205000002 已办结"]
        assert not asks_status("查询一下东坊大街的路灯为什么还没修")

    def test_an_appeal_that_mentions_a_ticket_is_an_appeal(self) -> None:
        text = "我上次反映的MS20261206000013说已经修好了，可是东坊大街的路灯今晚又全坏了，请再派人来看看。"
        assert asked_ticket(text) is None
        assert plan_for(push("text", Content=text)).kind == "file"
        assert asked_ticket("查询 MS2026") is None


class TestAdditions:
    def test_a_voice_note_without_words_files_or_joins(self) -> None:
        plan = plan_for(push("voice", MediaId="m1", Format="amr"))
        assert plan.kind == "file" and plan.draft is not None and plan.addition is not None
        assert plan.addition.note == "（语音，待转写）"
        assert [a.kind for a in plan.addition.attachments] == ["voice"]

    def test_a_recognised_voice_note_files_its_own(self) -> None:
        plan = plan_for(push("voice", MediaId="m1", Format="amr", Recognition="门口的路灯坏了"))
        assert plan.kind == "file" and plan.addition is None and plan.draft is not None
        assert [a.kind for a in plan.draft.attachments] == ["voice"]

    def test_file_message_is_a_document_addition(self) -> None:
        plan = plan_for(push("file", Title="房屋鉴定报告.pdf", FileKey="fk1", FileTotalLen="20480"))
        assert plan.kind == "attach" and plan.addition is not None
        doc = plan.addition.attachments[0]
        assert (doc.kind, doc.uri, doc.size_bytes) == ("document", "wechat-media:fk1", 20480)
        assert plan.addition.note == "房屋鉴定报告.pdf"

    def test_replies(self) -> None:
        assert "MS20261206000013" in attached_reply("image", "MS20261206000013")
        held = held_media_reply("location", 10)
        assert "位置" in held and "10分钟" in held and "受理编号" not in held
        # The neutral answer says nothing of whether the ticket exists.
        assert "没有查到您本人" in not_found_reply("MS20261206000013")
