"""The official account's protocol as pure functions: signatures, AES safe mode, XML, messages.

The safe-mode checks run against `tests.fakes.wechat_push`, an independent implementation
of WeChat's side, so a misread protocol would show here.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.service.channels.wechat_crypto import (
    MessageCrypto,
    WeChatCryptoError,
    decode_aes_key,
    pkcs7_pad,
    pkcs7_unpad,
    sha1_signature,
    signature_matches,
)
from services.gateway.service.channels.wechat_official import (
    DEFERRED,
    HELP,
    MAX_BODY,
    UNSUPPORTED,
    WELCOME,
    BadSignature,
    BodyTooLarge,
    HostileXml,
    MalformedMessage,
    StaleTimestamp,
    WeChatPush,
    encrypted_reply_xml,
    filed_reply,
    parse_xml,
    plan_for,
    text_reply_xml,
    verify_query,
)
from tests.fakes.wechat_push import WeChatServer, fields_of, new_encoding_aes_key

TOKEN = "guanjia-token-2026"
APP_ID = "wx5f3b2a1c0d9e8f7a"
OPENID = "oGZUI0egBJY1zhBYw2KhdUfwVJJE"


@pytest.fixture
def wechat() -> WeChatServer:
    return WeChatServer(token=TOKEN, app_id=APP_ID, encoding_aes_key=new_encoding_aes_key())


def crypto_of(server: WeChatServer) -> MessageCrypto:
    return MessageCrypto.create(server.token, server.encoding_aes_key, server.app_id)


def push(
    server: WeChatServer, msg_type: str, msg_id: int | None = 6054768590064713728, **fields: str
) -> WeChatPush:
    return WeChatPush.from_fields(parse_xml(server.message(OPENID, msg_type, msg_id, 1795000000, **fields)))


class TestSignature:
    def test_sha1_over_the_sorted_parts(self) -> None:
        expected = hashlib.sha1("".join(sorted([TOKEN, "1409304348", "xxxxxx"])).encode()).hexdigest()
        assert sha1_signature(TOKEN, "1409304348", "xxxxxx") == expected
        assert sha1_signature("xxxxxx", TOKEN, "1409304348") == expected

    def test_match_is_exact_and_case_insensitive(self) -> None:
        good = sha1_signature(TOKEN, "1", "2")
        assert signature_matches(good, TOKEN, "1", "2")
        assert signature_matches(good.upper(), TOKEN, "1", "2")
        assert not signature_matches(good[:-1] + ("0" if good[-1] != "0" else "1"), TOKEN, "1", "2")
        assert not signature_matches(None, TOKEN, "1", "2")
        assert not signature_matches("", TOKEN, "1", "2")

    def test_query_window(self, wechat: WeChatServer) -> None:
        q = wechat.query(timestamp=1_800_000_000)
        verify_query(TOKEN, q["signature"], q["timestamp"], q["nonce"], now=1_800_000_299)
        with pytest.raises(StaleTimestamp):
            verify_query(TOKEN, q["signature"], q["timestamp"], q["nonce"], now=1_800_000_301)
        with pytest.raises(StaleTimestamp):
            verify_query(TOKEN, q["signature"], q["timestamp"], q["nonce"], now=1_799_999_699)
        with pytest.raises(BadSignature):
            verify_query("another-token", q["signature"], q["timestamp"], q["nonce"], now=1_800_000_000)
        with pytest.raises(BadSignature):
            verify_query(TOKEN, q["signature"], q["timestamp"], None, now=1_800_000_000)


class TestSafeMode:
    def test_aes_key_is_43_characters_of_base64(self) -> None:
        assert len(decode_aes_key(new_encoding_aes_key())) == 32
        with pytest.raises(ValueError):
            decode_aes_key("too-short")
        with pytest.raises(ValueError):
            decode_aes_key("!" * 43)

    def test_we_open_what_wechat_seals(self, wechat: WeChatServer) -> None:
        xml = wechat.message(OPENID, "text", 1, Content="东坊大街路灯坏了，晚上很黑。")
        assert crypto_of(wechat).decrypt(wechat.encrypt(xml)) == xml

    def test_wechat_opens_what_we_seal(self, wechat: WeChatServer) -> None:
        reply = text_reply_xml(OPENID, wechat.account, filed_reply("MS20261127000001", "123456"))
        envelope = encrypted_reply_xml(crypto_of(wechat), reply, "1795000000", "nonce123")
        fields = wechat.open_reply(envelope)
        assert fields["MsgType"] == "text"
        assert fields["ToUserName"] == OPENID
        assert "查询码：123456" in fields["Content"]

    def test_layout_is_random16_length_message_appid(self, wechat: WeChatServer) -> None:
        crypto = crypto_of(wechat)
        sealed = crypto.encrypt(b"<xml/>", random_prefix=b"R" * 16)
        key = decode_aes_key(wechat.encoding_aes_key)
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = dec.update(base64.b64decode(sealed)) + dec.finalize()
        assert len(plain) % 32 == 0
        assert plain[:16] == b"R" * 16
        assert plain[16:20] == (6).to_bytes(4, "big")
        assert plain[20:26] == b"<xml/>"
        assert plain[26 : 26 + len(APP_ID)] == APP_ID.encode()

    def test_another_app_or_tampering_is_refused(self, wechat: WeChatServer) -> None:
        other = WeChatServer(
            token=TOKEN, app_id="wx0000000000000000", encoding_aes_key=wechat.encoding_aes_key
        )
        with pytest.raises(WeChatCryptoError):
            crypto_of(wechat).decrypt(other.encrypt(b"<xml/>"))
        sealed = bytearray(base64.b64decode(wechat.encrypt(b"<xml>x</xml>")))
        sealed[-1] ^= 0x01
        with pytest.raises(WeChatCryptoError):
            crypto_of(wechat).decrypt(base64.b64encode(bytes(sealed)).decode())
        with pytest.raises(WeChatCryptoError):
            crypto_of(wechat).decrypt("not base64 at all!")

    @given(st.binary(max_size=200))
    def test_pkcs7_round_trip(self, data: bytes) -> None:
        padded = pkcs7_pad(data)
        assert len(padded) % 32 == 0 and len(padded) > len(data)
        assert pkcs7_unpad(padded) == data

    @given(st.binary(min_size=1, max_size=64))
    def test_bad_padding_is_refused_never_crashes(self, data: bytes) -> None:
        n = data[-1]
        well_formed = 1 <= n <= 32 and len(data) >= n and data[-n:] == bytes([n]) * n
        if well_formed:
            assert pkcs7_unpad(data) == data[:-n]
        else:
            with pytest.raises(WeChatCryptoError):
                pkcs7_unpad(data)

    @pytest.mark.parametrize(
        "data",
        [b"", b"abc\x00", b"abc\x21", b"abc" + b"\x05" * 4, b"\x03\x03", b"ab\x01\x02"],
    )
    def test_each_kind_of_bad_padding_is_refused(self, data: bytes) -> None:
        with pytest.raises(WeChatCryptoError):
            pkcs7_unpad(data)


class TestXml:
    def test_doctype_and_entities_refused_before_parsing(self) -> None:
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<xml><Content>&lol2;</Content></xml>"
        )
        external = (
            b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>'
        )
        for hostile in (laughs, external, b"<!doctype xml><xml/>", b"<xml><!ENTITY x 'y'></xml>"):
            with pytest.raises(HostileXml):
                parse_xml(hostile)

    def test_size_limit(self) -> None:
        body = b"<xml><Content><![CDATA[" + "路".encode() * (MAX_BODY // 3) + b"]]></Content></xml>"
        with pytest.raises(BodyTooLarge):
            parse_xml(body)

    def test_malformed(self) -> None:
        for bad in (b"", b"not xml", b"<xml><a></xml>", b"<root><a>1</a></root>"):
            with pytest.raises(MalformedMessage):
                parse_xml(bad)

    def test_reply_survives_cdata_terminators(self) -> None:
        content = "注意]]>这里<b>&amp;"
        fields = fields_of(text_reply_xml(OPENID, "gh_x", content, now=1))
        assert fields["Content"] == content
        assert fields["CreateTime"] == "1"


class TestMessages:
    def test_text_files_an_appeal_under_its_msg_id(self, wechat: WeChatServer) -> None:
        p = push(wechat, "text", Content="虎门镇北栅社区东坊大街的路灯坏了好几盏，晚上很黑。")
        assert p.dedupe_key == "msg:6054768590064713728"
        plan = plan_for(p)
        assert plan.kind == "file" and plan.draft is not None
        assert plan.draft.channel == "wechat_official"
        assert plan.draft.channel_ref == "6054768590064713728"
        assert plan.draft.reporter.openid == OPENID
        assert plan.draft.description.startswith("虎门镇北栅社区东坊大街")
        assert plan.draft.reported_at is not None and plan.draft.reported_at.timestamp() == 1795000000

    def test_greetings_get_help_not_an_appeal(self, wechat: WeChatServer) -> None:
        for hello in ("你好", " 您好 ", "Hello", "？"):
            plan = plan_for(push(wechat, "text", Content=hello))
            assert (plan.kind, plan.reply) == ("reply", HELP)

    def test_voice_with_recognition_becomes_the_text(self, wechat: WeChatServer) -> None:
        plan = plan_for(
            push(wechat, "voice", MediaId="media-voice-1", Format="amr", Recognition="我家楼道的灯坏了。")
        )
        assert plan.draft is not None and not plan.needs_transcription
        # Words make an appeal of their own, never an addition to the sender's last one.
        assert plan.kind == "file" and plan.addition is None
        assert plan.draft.description == "我家楼道的灯坏了。"
        assert plan.draft.transcript == "我家楼道的灯坏了。"
        assert [(a.kind, a.uri, a.media_type) for a in plan.draft.attachments] == [
            ("voice", "wechat-media:media-voice-1", "audio/amr")
        ]

    def test_voice_without_recognition_is_kept_and_flagged(self, wechat: WeChatServer) -> None:
        plan = plan_for(push(wechat, "voice", MediaId="media-voice-2", Format="amr"))
        assert plan.kind == "file" and plan.needs_transcription and plan.draft is not None
        assert plan.draft.channel_extra["needs_transcription"] is True
        assert plan.draft.attachments[0].kind == "voice"
        assert "待转写" in plan.draft.description
        # No words: like a bare photo, it may join the appeal the sender just made.
        assert plan.addition is not None and plan.addition.attachments[0].kind == "voice"

    def test_image_is_an_addition_by_reference_not_an_appeal(self, wechat: WeChatServer) -> None:
        url = "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
        plan = plan_for(push(wechat, "image", PicUrl=url, MediaId="media-pic-1"))
        assert plan.kind == "attach" and plan.draft is None and plan.addition is not None
        assert [(a.kind, a.uri) for a in plan.addition.attachments] == [("photo", url)]
        assert (plan.addition.channel_ref, plan.addition.openid) == ("6054768590064713728", OPENID)

    def test_location_keeps_gcj02(self, wechat: WeChatServer) -> None:
        plan = plan_for(
            push(
                wechat,
                "location",
                Location_X="22.823000",
                Location_Y="113.671000",
                Scale="16",
                Label="东莞市虎门镇北栅社区",
            )
        )
        assert plan.kind == "attach" and plan.addition is not None
        loc = plan.addition.location
        assert loc is not None and (loc.lat, loc.lng, loc.datum) == (22.823, 113.671, "gcj02")
        assert loc.address == "东莞市虎门镇北栅社区"

    def test_events(self, wechat: WeChatServer) -> None:
        sub = push(wechat, "event", None, Event="subscribe")
        assert sub.dedupe_key == f"evt:{OPENID}:1795000000:subscribe"
        assert plan_for(sub).reply == WELCOME
        assert "受理编号" in WELCOME and "发送文字" in WELCOME
        assert plan_for(push(wechat, "event", None, Event="unsubscribe")).reply == ""
        assert plan_for(push(wechat, "link", Url="https://example.com")).reply == UNSUPPORTED
        video = plan_for(push(wechat, "video", MediaId="v", ThumbMediaId="t"))
        assert video.kind == "attach" and video.addition is not None
        assert video.addition.attachments[0].kind == "video"

    def test_a_message_needs_its_msg_id(self, wechat: WeChatServer) -> None:
        with pytest.raises(MalformedMessage):
            push(wechat, "text", None, Content="没有 MsgId")

    def test_replies_name_the_ticket_and_the_query_code(self) -> None:
        text = filed_reply("MS20261127000042", "031415")
        assert "MS20261127000042" in text
        assert re.search(r"查询码[:：]\s*031415", text)
        assert "MS" not in DEFERRED and "查询码" in DEFERRED

    def test_reply_xml_is_wechat_shaped(self) -> None:
        root = ET.fromstring(text_reply_xml(OPENID, "gh_x", "你好", now=1795000000))
        assert [c.tag for c in root] == ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"]
