"""Who among the staff hears of an event, and in which words (pure).

Each notice goes to the members of staff of one unit (单位):
- an assignment (交办) to the unit it is assigned to;
- a send-back (退单) to the unit above the one that sent it back, which dispatches again;
- a deadline warning (临期) and overdue (超期) to the unit that holds the clock;
- an escalation (升级督办) to the unit it is escalated to (one level up);
- an extension request (延期申请) to the unit that decides it; its decision to the unit that asked;
- a plan put on public notice (公示) to the community that consulted, and to its town;
- an objection (异议) during 公示 to the community that consulted, and to its town;
- a job parked as a dead letter (死信), in any service, to the city's administrators.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date
from typing import Final

from services.common.scope import CITY, Unit, parent_of, unit_town
from services.common.timeutil import to_local
from services.contracts.events import (
    AppealAssigned,
    AppealReturned,
    ConsultationNoticed,
    ConsultationObjected,
    DeadlineChanged,
    DeadlineEscalated,
    Event,
    ExtensionChanged,
    JobParked,
)
from services.contracts.vocabulary import SEND_BACK_REASON_NAMES, UNIT_NAMES
from services.contracts.worklist import NotificationKind

_NAMESPACE: Final = uuid.UUID("0b5f7c9e-16a2-4d3b-8e1f-5a6c7d8e9f10")
CLOCK_NAMES: Final[dict[str, str]] = {
    "triage": "分拣",
    "sign_off": "签收",
    "handling": "办理",
    "consultation": "协商议事",
    "works": "工程实施",
    "feedback": "结果反馈",
}
# routing's reason code of a hop it closed by reassigning the appeal (改派), not a send-back.
REASSIGNED: Final = "reassigned"
SERVICE_NAMES: Final[dict[str, str]] = {
    "gateway": "接入网关",
    "intake": "受理服务",
    "routing": "分拣交办服务",
    "deadlines": "时限服务",
    "ledger": "资金台账服务",
}
# The events that make notices; the rest of the gateway's subscriptions are the residents'.
NOTIFYING: Final = frozenset(
    {
        "appeal.assigned",
        "appeal.returned",
        "deadline.warning",
        "deadline.overdue",
        "deadline.escalated",
        "deadline.extended",
        "deadline.extension_requested",
        "deadline.extension_rejected",
        "consultation.noticed",
        "consultation.objected",
        "ops.job_parked",
    }
)


@dataclass(frozen=True)
class Notice:
    """One notification to write: what, to which unit, in which words; `key`, when given, stands
    for the event in the notification's identity, so that events sharing it make one notice."""

    kind: NotificationKind
    unit: Unit
    text: str
    key: str | None = None


def notification_id(event_id: uuid.UUID, kind: str, unit: Unit, key: str | None = None) -> uuid.UUID:
    """Stable per (event, kind, unit), or per (key, kind, unit): a replayed event finds the
    notification it made."""
    return uuid.uuid5(_NAMESPACE, f"{key or event_id}|{kind}|{unit.type}|{unit.code}")


def _cn(day: date | None) -> str:
    return f"{day.month}月{day.day}日" if day else "期限"


def _clock(name: str) -> str:
    return CLOCK_NAMES.get(name, "办理")


def _unit_name(unit_type: str | None) -> str:
    return UNIT_NAMES.get(unit_type or "", "承办单位")  # type: ignore[call-overload, no-any-return]


def _ticket(ticket_no: str | None) -> str:
    return f"诉求{ticket_no}" if ticket_no else "诉求"


def _unit(unit_type: str | None, unit_code: str | None) -> Unit | None:
    return Unit(unit_type, unit_code) if unit_type and unit_code else None


def _community_and_town(
    kind: NotificationKind, community: Unit, town_code: str | None, words: str
) -> list[Notice]:
    """A notice to the community that consulted and, unless it is the town itself, to its town."""
    notices = [Notice(kind, community, words)]
    if town_code and community.type != "town":
        notices.append(Notice(kind, Unit("town", town_code), words))
    return notices


def notices_for(event: Event, ticket_no: str | None, town_code: str | None) -> list[Notice]:
    """The notices an event makes; ``town_code`` is the appeal's town (a station's or a village's
    unit above, where the reference data does not say)."""
    t = _ticket(ticket_no)
    match event.type:
        case "appeal.assigned":
            a = event.data_as(AppealAssigned)
            what = "请组织协商议事" if a.purpose == "consult" else "请及时签收办理"
            urgent = "【紧急】" if a.urgency in ("urgent", "emergency") else ""
            return [Notice("assigned", Unit(a.unit_type, a.unit_code), f"{urgent}新交办{t}，{what}。")]
        case "appeal.returned":
            r = event.data_as(AppealReturned)
            sender = Unit(r.unit_type, r.unit_code)
            if r.reason_code == REASSIGNED:
                # 改派: the unit above moved it elsewhere itself; the unit it was taken from is told.
                return [Notice("returned", sender, f"{t}已改派其他单位办理，本单位无需继续办理。")]
            above = parent_of(sender, unit_town(sender, town_code))
            reason = SEND_BACK_REASON_NAMES.get(r.reason_code, r.reason_code)
            words = f"{t}被{_unit_name(r.unit_type)}退回（{reason}），请重新分拣交办。"
            return [Notice("returned", above, words)]
        case "deadline.warning" | "deadline.overdue":
            d = event.data_as(DeadlineChanged)
            holder = _unit(d.unit_type, d.unit_code)
            if holder is None:
                return []
            if event.type == "deadline.warning":
                words = f"{t}的{_clock(d.clock)}时限将于{_cn(d.due_date)}到期，请抓紧办理。"
                return [Notice("deadline_warning", holder, words)]
            return [
                Notice(
                    "overdue", holder, f"{t}的{_clock(d.clock)}时限已于{_cn(d.due_date)}超期，请尽快办理。"
                )
            ]
        case "deadline.escalated":
            e = event.data_as(DeadlineEscalated)
            target = Unit(e.target_unit_type, e.target_unit_code)
            words = f"{t}的{_clock(e.clock)}时限已超期，{_unit_name(e.unit_type)}未办结，升级至本级督办。"
            return [Notice("escalated", target, words)]
        case "deadline.extended":
            d = event.data_as(DeadlineChanged)
            holder = _unit(d.unit_type, d.unit_code)
            if holder is None:
                return []
            words = f"{t}的延期申请已批准，{_clock(d.clock)}时限延至{_cn(d.due_date)}。"
            return [Notice("extension_decided", holder, words)]
        case "deadline.extension_requested":
            x = event.data_as(ExtensionChanged)
            approver = Unit(x.approver_type, x.approver_code)
            words = f"{_unit_name(x.unit_type)}申请{t}的{_clock(x.clock)}时限延期{x.days}天，请审批。"
            return [Notice("extension_requested", approver, words)]
        case "deadline.extension_rejected":
            x = event.data_as(ExtensionChanged)
            words = f"{t}的延期申请未获批准，{_clock(x.clock)}时限仍为{_cn(x.due_date_before)}。"
            return [Notice("extension_decided", Unit(x.unit_type, x.unit_code), words)]
        case "consultation.objected":
            o = event.data_as(ConsultationObjected)
            community = Unit(o.unit_type, o.unit_code)
            words = f"{t}的公示期间收到异议，方案退回重新协商议事。"
            return _community_and_town(
                "objection", community, o.town_code or unit_town(community, town_code), words
            )
        case "consultation.noticed":
            n = event.data_as(ConsultationNoticed)
            community = Unit(n.unit_type, n.unit_code)
            end = to_local(n.notice_ends_at).date()
            words = f"{t}的办理方案已公示，公示期至{_cn(end)}，期间请留意居民异议。"
            return _community_and_town("noticed", community, unit_town(community, town_code), words)
        case "ops.job_parked":
            p = event.data_as(JobParked)
            carried = f"{t}的{p.event_type}事件" if p.event_type else f"任务{p.job_name}"
            words = (
                f"{SERVICE_NAMES.get(p.service, p.service)}未能处理{carried}，已转入失败任务（死信，"
                f"编号{p.letter_id}）。同一服务同类失败每小时只提醒一次，请在失败任务列表中查看全部，"
                "重放或处理后关闭，以免诉求停滞。"
            )
            # One notice (and one push) per service, job and event type an hour: a dependency
            # away parks hundreds alike, and the list has them all.
            hour = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H")
            key = f"job_parked|{p.service}|{p.job_name}|{p.event_type}|{hour}"
            return [Notice("job_parked", CITY, words, key)]
    return []


__all__ = ["CLOCK_NAMES", "NOTIFYING", "Notice", "notices_for", "notification_id"]
