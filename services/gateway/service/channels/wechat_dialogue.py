"""What a resident's words mean in a conversation with the official account, and what we answer.

Pure. Three things are not appeals (issue 16.6): noise (greetings, thanks, punctuation, a sticker
— WeChat delivers a custom sticker to an official account as the text 【收到不支持的消息类型，
暂无法显示】), a status question ("查询 MS20261206000013"), and a bare photo, location or file,
which belongs to the appeal the resident has just made (see `wechat_conversation`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Final

from services.common.text import normalise_text
from services.common.timeutil import to_local

# Words that say hello, thanks or "are you there" and nothing else; compared after folding.
SMALL_TALK: Final = (
    "你好",
    "您好",
    "你们好",
    "大家好",
    "在吗",
    "在么",
    "在不在",
    "有人吗",
    "有人在吗",
    "请问",
    "喂",
    "hi",
    "hello",
    "哈喽",
    "帮助",
    "help",
    "菜单",
    "谢谢",
    "谢谢你",
    "谢谢您",
    "多谢",
    "感谢",
    "好的",
    "好",
    "收到",
    "知道了",
    "嗯",
    "嗯嗯",
    "哦",
    "噢",
    "ok",
    "如何反映",
    "怎么反映",
    "1",
)
# What WeChat shows instead of a sticker or another message it does not forward.
UNSUPPORTED_MARKERS: Final = ("收到不支持的消息类型", "暂无法显示", "unsupported message")
# WeChat's own emoji codes: [微笑] [Smile], and the old /::) family.
_EMOJI_CODE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,6}\]|/:[^\s\u4e00-\u9fff]{1,6}")
_TICKET_ASKED = re.compile(
    r"^(?:查询|查一下|查|查看|查进度|查询进度|办理进度|进度)?[:：\s]*(MS\d{14})(?:\s*的?(?:进度|状态|办理情况))?$"
)
# A ticket anywhere in a short message: "我的MS20261206000013怎么样了".
_TICKET_ANYWHERE = re.compile(r"MS\d{14}")


def _words(text: str) -> str:
    """The letters and digits of `text`, folded: no punctuation, symbols, emoji or spaces."""
    folded = _EMOJI_CODE.sub("", normalise_text(text)).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def is_noise(text: str) -> bool:
    """True for a message that asks for nothing: empty, punctuation or emoji only, a sticker,
    or greetings and thanks only ("你好！在吗？", "谢谢[抱拳]")."""
    folded = normalise_text(text).lower()
    if any(marker in folded for marker in UNSUPPORTED_MARKERS):
        return True
    rest = _words(text)
    # Greedy: peel greetings off the front until nothing (noise) or something else is left.
    talk = sorted(SMALL_TALK, key=len, reverse=True)
    while rest:
        word = next((w for w in talk if rest.startswith(w)), None)
        if word is None:
            return False
        rest = rest[len(word) :]
    return True


# "How is my appeal going?" without a number: the answer lists the sender's own appeals.
STATUS_WORDS: Final = frozenset(
    {
        "查询",
        "查",
        "查进度",
        "查询进度",
        "进度",
        "办理进度",
        "查看进度",
        "我的诉求",
        "查询诉求",
        "查询我的诉求",
    }
)


def asks_status(text: str) -> bool:
    """True for a status question that names no ticket ("查询", "查询进度", "查询码 123456")."""
    words = _words(text)
    return words in STATUS_WORDS or bool(re.fullmatch(r"查询码\d{0,8}", words))


def asked_ticket(text: str) -> str | None:
    """The ticket number a status question asks about ("查询 MS20261206000013", the bare number,
    "MS20261206000013的进度"), or None when the message is something else."""
    folded = normalise_text(text).strip().upper().replace("查询码", "")
    compact = re.sub(r"\s+", "", folded)
    match = _TICKET_ASKED.match(compact)
    if match:
        return match.group(1)
    # A short question around one ticket number is a question too; a long text is an appeal.
    found = _TICKET_ANYWHERE.findall(compact)
    if len(found) == 1 and len(compact) <= 30 and ("查" in compact or "进度" in compact):
        return str(found[0])
    return None


HELP: Final = (
    "您好！请直接发送文字或语音，说明地点和遇到的问题或困难，我们会为您登记民生诉求，"
    "并回复受理编号和查询码。也可以发送照片或位置。\n"
    "查询办理进度，请发送「查询」加受理编号，例如：查询 MS20261206000013。"
)
MEDIA_WORDS: Final = {"image": "照片", "voice": "语音", "location": "位置", "file": "文件", "video": "视频"}


def held_media_reply(msg_type: str, window_minutes: int) -> str:
    """A photo, location or file with no appeal to join: nothing is filed; it waits for one."""
    what = MEDIA_WORDS.get(msg_type, "材料")
    return (
        f"已收到您发送的{what}。请再用文字或语音说明遇到的问题和具体地点，我们会为您登记诉求，"
        f"并把{what}一并附上（{window_minutes}分钟内有效）。"
    )


def attached_reply(msg_type: str, ticket_no: str) -> str:
    """The passive reply of a photo (location, file, voice) kept on the sender's open appeal."""
    what = MEDIA_WORDS.get(msg_type, "材料")
    return f"已将您发送的{what}补充到您刚才反映的诉求（受理编号：{ticket_no}），无需重复反映。"


def attaching_reply(msg_type: str) -> str:
    """The same, when the appeal it joins is still being registered."""
    what = MEDIA_WORDS.get(msg_type, "材料")
    return f"已收到您发送的{what}，将补充到您刚才反映的诉求中，无需重复反映。"


def status_reply(
    ticket_no: str, phrase: str, text: str, latest: tuple[datetime, str] | None, due: datetime | None
) -> str:
    """The answer to "查询 <ticket>" for one of the sender's own appeals."""
    lines = [f"受理编号：{ticket_no}", f"当前状态：{phrase}（{text}）"]
    if latest is not None:
        at, description = latest
        lines.append(f"最新进展：{to_local(at):%Y-%m-%d %H:%M} {description}")
    if due is not None:
        lines.append(f"办理时限：{to_local(due):%Y-%m-%d}")
    lines.append("办理有新进展时，我们会通过本公众号通知您。")
    return "\n".join(lines)


def not_found_reply(ticket_no: str) -> str:
    """Neutral: says nothing of whether the ticket exists (it may be another person's)."""
    return (
        f"没有查到您本人在本公众号反映的受理编号为 {ticket_no} 的诉求。请核对编号；"
        "如诉求是通过其他方式反映的，可凭受理编号和查询码在「民生大莞家」小程序或网站查询。"
    )


QUERY_UNAVAILABLE: Final = "查询服务暂时繁忙，请稍后再试。"
NONE_OF_YOURS: Final = "您还没有在本公众号反映过诉求。如是通过其他方式反映的，可凭受理编号和查询码在「民生大莞家」小程序或网站查询。"


def own_list_reply(items: list[tuple[str, str, str]]) -> str:
    """The sender's latest appeals: (ticket, status phrase, title), newest first."""
    if not items:
        return NONE_OF_YOURS
    lines = ["您最近反映的诉求："]
    lines += [f"{ticket} {phrase}{f'（{title}）' if title else ''}" for ticket, phrase, title in items]
    lines.append("发送「查询」加受理编号可查看详细进展，例如：查询 " + items[0][0])
    return "\n".join(lines)
