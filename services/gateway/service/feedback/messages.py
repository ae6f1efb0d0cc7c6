"""What a reporter reads: short simplified Chinese, the ticket number and the new status in words.

Pure. WeChat's subscribe-message fields have length limits (phrase ≤ 5, thing ≤ 20 characters);
the texts here respect them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from services.common.timeutil import to_local

# The status in a few characters (subscribe message `phrase`, at most 5).
STATUS_PHRASE: Final[dict[str, str]] = {
    "received": "已受理",
    "triaged": "已分拣",
    "consulting": "协商议事",
    "approved": "方案已定",
    "in_progress": "办理中",
    "completed": "已办结",
    "reopened": "重新办理",
    "closed": "已结案",
    "on_hold": "待补材料",
    "returned": "重新分拣",
    "rejected": "不予受理",
    "merged": "合并办理",
    "withdrawn": "已撤回",
    # Not a status: a deadline extended (延期), told in intake's words.
    "extended": "时限延期",
    "noticed": "方案公示",
    "objected": "公示异议",
}
# The status in a sentence (at most 20 characters: subscribe message `thing`).
STATUS_TEXT: Final[dict[str, str]] = {
    "received": "诉求已受理",
    "triaged": "诉求已完成分拣，正在交办",
    "consulting": "已提交村（社区）协商议事",
    "approved": "办理方案已确定",
    "in_progress": "承办单位正在办理",
    "completed": "已办结，稍后将回访",
    "reopened": "将重新办理",
    "closed": "已回访，办理结束",
    "on_hold": "需要您补充材料，请留意联系",
    "returned": "已退回重新分拣",
    "rejected": "不予受理",
    "merged": "已与相同诉求合并办理",
    "withdrawn": "已撤回",
}
SMS_SIGNATURE: Final = "【民生大莞家】"


def phrase(status: str) -> str:
    """The status in at most five characters."""
    return STATUS_PHRASE.get(status, "状态更新")[:5]


def sentence(status: str, reason: str | None = None, words: str | None = None) -> str:
    """The status in a sentence (or the `words` intake gave the step); a rejection carries its
    reason (DESIGN §4)."""
    if words:
        return words.strip().rstrip("。")
    text = STATUS_TEXT.get(status, "状态已更新")
    if status == "rejected" and reason:
        text += f"，原因：{reason.strip()[:60]}"
    return text


def text_message(ticket_no: str, status: str, reason: str | None = None, words: str | None = None) -> str:
    """The customer-service text (official account)."""
    return f"您反映的诉求（受理编号{ticket_no}）{sentence(status, reason, words)}。"


def sms_params(
    ticket_no: str, status: str, reason: str | None = None, words: str | None = None
) -> dict[str, str]:
    """The SMS template's parameters, and the text it renders to (for gateways that take text)."""
    return {
        "ticket_no": ticket_no,
        "status": phrase(status),
        "text": f"{SMS_SIGNATURE}{text_message(ticket_no, status, reason, words)}",
    }


def subscribe_data(
    ticket_no: str, status: str, at: datetime, words: str | None = None
) -> dict[str, dict[str, Any]]:
    """The subscribe message's fields: 受理编号, 办理状态, 说明, 更新时间."""
    return {
        "character_string1": {"value": ticket_no[:32]},
        "phrase2": {"value": phrase(status)},
        "thing3": {"value": sentence(status, None, words)[:20]},
        "time4": {"value": f"{to_local(at):%Y-%m-%d %H:%M}"},
    }
