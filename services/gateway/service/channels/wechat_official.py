"""莞家政务 WeChat official account: WeChat's push protocol, as pure functions (DESIGN §4, §10).

What arrives: XML pushed by WeChat's servers (text, voice with `Recognition`, image, location,
events), signed with SHA-1, in plain or safe (AES) mode. What leaves: a passive reply, XML,
encrypted in safe mode. Hostile XML (a DTD, entities, over 64 KiB) is refused before parsing.

Each message that files an appeal becomes one `AppealDraft` (channel `wechat_official`,
channel_ref = WeChat's MsgId); the passive reply holds the ticket number and the query code
(查询码). The I/O around this — storing, filing, follow-up — is `wechat_inbox`.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from services.common.errors import DomainError, Forbidden, Unauthorized
from services.contracts.additions import AppealAddition
from services.contracts.appeals import AppealDraft, Attachment, Location, Reporter
from services.gateway.service.channels.wechat_crypto import MessageCrypto, signature_matches
from services.gateway.service.channels.wechat_dialogue import HELP as HELP
from services.gateway.service.channels.wechat_dialogue import asked_ticket, asks_status, is_noise

CHANNEL: Final = "wechat_official"
MAX_BODY: Final = 64 * 1024
# Seconds a push's timestamp may differ from our clock (both directions).
WINDOW_S: Final = 300
_HOSTILE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
VOICE_MEDIA_TYPES: Final = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg"}


# --- errors: RFC 9457 problems (WeChat itself only ever sees 200s) -------------------------------


class BadSignature(Unauthorized):
    code, title = "bad_signature", "WeChat signature missing or wrong"
    message = "签名校验失败。"


class StaleTimestamp(Unauthorized):
    code, title = "stale_timestamp", "Timestamp outside the allowed window"
    message = "请求时间戳已过期。"


class NonceReused(Forbidden):
    code, title = "nonce_reused", "Nonce already used for another message"
    message = "该请求已被使用过，拒绝重放。"


class HostileXml(DomainError):
    status, code, title = 400, "hostile_xml", "XML with a DTD or entities is refused"
    message = "消息格式不被接受。"


class MalformedMessage(DomainError):
    status, code, title = 400, "malformed_message", "Not a WeChat message"
    message = "消息格式不正确。"


class BodyTooLarge(DomainError):
    status, code, title = 413, "body_too_large", "Message over 64 KiB"
    message = "消息内容过大。"


class NotConfigured(DomainError):
    status, code, title = 503, "wechat_not_configured", "The official account is not configured"
    message = "公众号接入尚未配置，请稍后再试。"


# --- XML -----------------------------------------------------------------------------------------


def parse_xml(body: bytes) -> dict[str, str]:
    """A WeChat `<xml>` document as {element: text}; hostile or oversized input never parses."""
    if len(body) > MAX_BODY:
        raise BodyTooLarge()
    if _HOSTILE.search(body):
        raise HostileXml()
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise HostileXml() from None
    except (ParseError, ValueError):
        raise MalformedMessage() from None
    if root.tag != "xml":
        raise MalformedMessage()
    # Events may nest (ScanCodeInfo, SendPicsInfo…); only the top level is ours to read.
    return {child.tag: child.text or "" for child in root}


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside one CDATA section: split it across two.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str, now: int | None = None) -> bytes:
    """A passive text reply (被动回复文本消息)."""
    created = int(time.time()) if now is None else now
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    ).encode()


def encrypted_reply_xml(crypto: MessageCrypto, reply: bytes, timestamp: str, nonce: str) -> bytes:
    """The safe-mode envelope of a reply, signed with msg_signature."""
    encrypted = crypto.encrypt(reply)
    signature = crypto.msg_signature(timestamp, nonce, encrypted)
    return (
        "<xml>"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{html.escape(timestamp)}</TimeStamp>"
        f"<Nonce>{_cdata(nonce)}</Nonce>"
        "</xml>"
    ).encode()


# --- verification --------------------------------------------------------------------------------


def verify_query(
    token: str, signature: str | None, timestamp: str | None, nonce: str | None, now: float
) -> None:
    """The `signature` of WeChat's query string, and its timestamp within the window."""
    if not timestamp or not nonce or not signature_matches(signature, token, timestamp, nonce):
        raise BadSignature()
    check_timestamp(timestamp, now)


def check_timestamp(timestamp: str, now: float) -> None:
    """Refuse a push whose timestamp is too far from our clock."""
    try:
        ts = int(timestamp)
    except ValueError:
        raise BadSignature() from None
    if abs(now - ts) > WINDOW_S:
        raise StaleTimestamp()


def open_envelope(
    crypto: MessageCrypto, outer: dict[str, str], msg_signature: str | None, timestamp: str, nonce: str
) -> bytes:
    """The decrypted inner XML of a safe-mode push, after checking its msg_signature."""
    encrypted = outer.get("Encrypt", "").strip()
    if not encrypted:
        raise MalformedMessage("安全模式消息缺少加密内容。")
    if not signature_matches(msg_signature, crypto.token, timestamp, nonce, encrypted):
        raise BadSignature()
    try:
        return crypto.decrypt(encrypted)
    except ValueError:
        # The signature matched but the content does not decrypt for our app id.
        raise BadSignature("消息解密失败。") from None


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatPush:
    """One message or event pushed by WeChat, with every field it carried."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None
    event: str | None
    fields: dict[str, str] = field(hash=False)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> WeChatPush:
        """Check the fields every push has."""
        to_user = fields.get("ToUserName", "").strip()
        from_user = fields.get("FromUserName", "").strip()
        msg_type = fields.get("MsgType", "").strip().lower()
        try:
            create_time = int(fields.get("CreateTime", "").strip())
        except ValueError:
            raise MalformedMessage("消息缺少发送时间。") from None
        if not to_user or not from_user or not msg_type or len(from_user) > 64:
            raise MalformedMessage()
        msg_id = fields.get("MsgId", "").strip() or None
        event = fields.get("Event", "").strip() or None
        if msg_type != "event" and (msg_id is None or not msg_id.isdigit() or len(msg_id) > 32):
            raise MalformedMessage("消息缺少 MsgId。")
        return cls(to_user, from_user, create_time, msg_type, msg_id, event, dict(fields))

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; FromUserName + CreateTime (+ the event) for events (WeChat's advice)."""
        if self.msg_type != "event" and self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{(self.event or '').lower()}"

    @property
    def sent_at(self) -> datetime:
        """CreateTime as an aware UTC datetime."""
        return datetime.fromtimestamp(self.create_time, UTC)


WELCOME: Final = (
    "欢迎关注「莞家政务」！这里是东莞「民生大莞家」的民生诉求受理窗口。\n"
    "反映诉求很简单：\n"
    "1. 直接发送文字，说清楚在哪里、遇到什么问题或困难，例如：虎门镇北栅社区东坊大街路灯坏了好几盏；\n"
    "2. 也可以发送语音，或发送照片、位置帮助我们找到地点；\n"
    "3. 每条诉求都会回复受理编号和查询码，凭它们可随时查询办理进度，办理结果也会通过本公众号告诉您。\n"
    "紧急情况请直接拨打 110、119 或 120。"
)
UNSUPPORTED: Final = "暂不支持此类消息。请发送文字、语音、图片或位置来反映诉求。"
DEFERRED: Final = "您的诉求已收到，正在登记。受理编号和查询码稍后会通过本公众号消息发送给您，请留意查收。"


def filed_reply(ticket_no: str, query_code: str, *, needs_transcription: bool = False) -> str:
    """The passive reply of a filed appeal: ticket number, then the query code after 查询码."""
    lead = "您的语音留言已登记，工作人员将尽快听取并处理。" if needs_transcription else "您的诉求已受理。"
    return (
        f"{lead}\n受理编号：{ticket_no}\n查询码：{query_code}\n"
        "请保存好受理编号和查询码，可随时查询办理进度；办理进展也会通过本公众号通知您。"
    )


def follow_up_message(ticket_no: str, query_code: str) -> str:
    """The customer-service message that delivers a ticket the passive reply could not hold."""
    return (
        f"您刚才反映的诉求已登记。\n受理编号：{ticket_no}\n查询码：{query_code}\n"
        "请保存好受理编号和查询码，可随时查询办理进度。"
    )


@dataclass(frozen=True)
class Plan:
    """What a push calls for: a filed appeal (`draft`), an addition to the sender's open appeal
    (`addition`), a status answer (`ticket`), or only a reply text ('' = none).

    A voice note WeChat did not transcribe carries both a draft and an addition: like a bare
    photo it joins the appeal the sender made a moment ago, else it files its own
    (`wechat_conversation` decides, it needs the store). A recognised one has words, so it is an
    appeal of its own (its recording attached), however soon after another it was said."""

    kind: Literal["file", "attach", "query", "reply"]
    reply: str = ""
    draft: AppealDraft | None = None
    needs_transcription: bool = False
    addition: AppealAddition | None = None
    ticket: str | None = None


def _title(text: str) -> str:
    first = text.split("\n", 1)[0]
    return first[:30]


def _draft(push: WeChatPush, description: str, **extra: object) -> AppealDraft:
    base = AppealDraft(
        channel=CHANNEL,
        channel_ref=push.msg_id or push.dedupe_key,
        reported_at=push.sent_at,
        reporter=Reporter(openid=push.from_user, role="resident"),
        title=_title(description),
        description=description,
        channel_extra={"msg_type": push.msg_type, "msg_id": push.msg_id, "account": push.to_user},
    )
    updates = {k: v for k, v in extra.items() if k != "channel_extra"}
    extra_fields = extra.get("channel_extra")
    if isinstance(extra_fields, dict):
        updates["channel_extra"] = {**base.channel_extra, **extra_fields}
    return base.model_copy(update=updates)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def plan_for(push: WeChatPush) -> Plan:
    """Decide what a push does: file an appeal, or answer (welcome, help, unsupported)."""
    f = push.fields
    if push.msg_type == "event":
        if (push.event or "").lower() == "subscribe":
            return Plan("reply", WELCOME)
        return Plan("reply", "")
    if push.msg_type == "text":
        content = f.get("Content", "").strip()
        if not content or is_noise(content):
            return Plan("reply", HELP)
        if (ticket := asked_ticket(content)) is not None or asks_status(content):
            return Plan("query", ticket=ticket)
        return Plan("file", draft=_draft(push, content[:20000]))
    if push.msg_type == "voice":
        return _voice(push)
    if push.msg_type == "image":
        return _image(push)
    if push.msg_type == "location":
        return _location(push)
    if push.msg_type in ("file", "video", "shortvideo"):
        return _file_or_video(push)
    return Plan("reply", UNSUPPORTED)


def _addition(push: WeChatPush, **values: object) -> AppealAddition:
    assert push.msg_id is not None  # every message (not event) has one: `WeChatPush.from_fields`
    return AppealAddition.model_validate(
        {"channel": CHANNEL, "channel_ref": push.msg_id, "openid": push.from_user, "sent_at": push.sent_at}
        | values
    )


def _voice(push: WeChatPush) -> Plan:
    f = push.fields
    media_id = f.get("MediaId", "").strip()
    fmt = f.get("Format", "amr").strip().lower() or "amr"
    recognition = f.get("Recognition", "").strip()
    attachments = (
        [
            Attachment(
                kind="voice",
                uri=f"wechat-media:{media_id}"[:500],
                media_type=VOICE_MEDIA_TYPES.get(fmt, "application/octet-stream"),
                size_bytes=0,
            )
        ]
        if media_id
        else []
    )
    if recognition:
        draft = _draft(
            push,
            recognition[:20000],
            transcript=recognition,
            attachments=attachments,
            channel_extra={"media_id": media_id, "format": fmt, "recognised_by": "wechat"},
        )
        # Words make an appeal: "另外楼道一直漏水" two minutes after "路灯坏了" is a second matter,
        # and joining it to the first would leave it without a ticket (a staff-only note at best).
        return Plan("file", draft=draft)
    # No speech recognition: keep the appeal with its voice, flagged for a person to transcribe.
    draft = _draft(
        push,
        "（语音留言，待转写）居民通过公众号发送了一段语音，内容尚未转写。",
        title="语音留言（待转写）",
        attachments=attachments,
        channel_extra={"media_id": media_id, "format": fmt, "needs_transcription": True},
    )
    addition = _addition(push, note="（语音，待转写）", attachments=attachments)
    return Plan("file", draft=draft, needs_transcription=True, addition=addition)


def _image(push: WeChatPush) -> Plan:
    f = push.fields
    media_id = f.get("MediaId", "").strip()
    pic_url = f.get("PicUrl", "").strip()
    uri = pic_url if pic_url.startswith(("http://", "https://")) else f"wechat-media:{media_id}"
    photo = Attachment(kind="photo", uri=uri[:500], media_type="image/jpeg", size_bytes=0)
    return Plan("attach", addition=_addition(push, attachments=[photo]))


def _file_or_video(push: WeChatPush) -> Plan:
    f = push.fields
    media_id = f.get("MediaId", "").strip() or f.get("FileKey", "").strip()
    if not media_id:
        raise MalformedMessage("文件消息缺少媒体标识。")
    if push.msg_type == "file":
        item = Attachment(
            kind="document",
            uri=f"wechat-media:{media_id}"[:500],
            media_type="application/octet-stream",
            size_bytes=int(size) if (size := f.get("FileTotalLen", "").strip()).isdigit() else 0,
        )
        title = f.get("Title", "").strip()
        return Plan("attach", addition=_addition(push, attachments=[item], note=title[:200] or None))
    item = Attachment(
        kind="video", uri=f"wechat-media:{media_id}"[:500], media_type="video/mp4", size_bytes=0
    )
    return Plan("attach", addition=_addition(push, attachments=[item]))


def _location(push: WeChatPush) -> Plan:
    f = push.fields
    lat, lng = _float(f.get("Location_X")), _float(f.get("Location_Y"))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise MalformedMessage("位置消息的坐标无效。")
    label = f.get("Label", "").strip()
    where = Location(address=label[:300] or None, lat=lat, lng=lng, datum="gcj02")
    return Plan("attach", addition=_addition(push, location=where))
