"""Who among the staff hears of which event, in which words (pure: `notifications.plan`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.crypto import encrypt_pii
from services.common.scope import Unit
from services.contracts.events import (
    SUBSCRIPTIONS,
    AppealAssigned,
    AppealReturned,
    ConsultationNoticed,
    ConsultationObjected,
    DeadlineChanged,
    DeadlineEscalated,
    Event,
    EventType,
    ExtensionChanged,
    JobParked,
    StatusChanged,
    _Data,
    make_event,
)
from services.gateway.models import StaffAccount
from services.gateway.service.normalise import InvalidPhoneProblem
from services.gateway.service.notifications.contact import textable_phone
from services.gateway.service.notifications.plan import NOTIFYING, Notice, notices_for, notification_id
from services.gateway.service.notifications.service import push_plans

TOWN, VILLAGE, TICKET = "441900121000", "441900121001", "MS20261206000042"


def event(type_: EventType, data: _Data) -> Event:
    return make_event(type_, "routing", data, appeal_id=uuid.uuid4())


def clock(
    state: str = "running", unit: tuple[str | None, str | None] = ("village", VILLAGE)
) -> dict[str, object]:
    return {
        "clock_id": uuid.uuid4(),
        "clock": "handling",
        "unit_type": unit[0],
        "unit_code": unit[1],
        "due_at": datetime(2026, 12, 18, 16, 0),
        "due_date": date(2026, 12, 18),
        "provisional": False,
        "state": state,
    }


def assigned(unit_type: str, code: str, purpose: str = "handle", urgency: str = "normal") -> AppealAssigned:
    return AppealAssigned.model_validate(
        {"unit_type": unit_type, "unit_code": code, "purpose": purpose, "kind": "micro_wish",
         "urgency": urgency, "track": "express"}
    )  # fmt: skip


def test_an_assignment_goes_to_the_assigned_unit() -> None:
    (notice,) = notices_for(event("appeal.assigned", assigned("village", VILLAGE)), TICKET, TOWN)
    assert (notice.kind, notice.unit) == ("assigned", Unit("village", VILLAGE))
    assert TICKET in notice.text and "签收" in notice.text
    (urgent,) = notices_for(
        event("appeal.assigned", assigned("station", "GJYZ-1", "consult", "urgent")), TICKET, TOWN
    )
    assert urgent.text.startswith("【紧急】") and "协商议事" in urgent.text


@pytest.mark.parametrize(
    ("sender", "above"),
    [
        (("village", VILLAGE), Unit("town", TOWN)),
        (("station", "GJYZ-1"), Unit("town", TOWN)),  # a station's town is the appeal's
        (("town", TOWN), Unit("city", "city")),
        (("department", "civil_affairs"), Unit("city", "city")),
    ],
)
def test_a_send_back_goes_one_level_up(sender: tuple[str, str], above: Unit) -> None:
    data = AppealReturned(
        unit_type=sender[0], unit_code=sender[1], reason_code="wrong_location", policy_basis="x", hop=1
    )
    (notice,) = notices_for(event("appeal.returned", data), TICKET, TOWN)
    assert (notice.kind, notice.unit) == ("returned", above)
    assert "属地错误" in notice.text


def test_a_reassignment_tells_the_unit_it_was_taken_from() -> None:
    data = AppealReturned(
        unit_type="village", unit_code=VILLAGE, reason_code="reassigned", policy_basis="改派", hop=1
    )
    (notice,) = notices_for(event("appeal.returned", data), TICKET, TOWN)
    assert (notice.kind, notice.unit) == ("returned", Unit("village", VILLAGE)) and "改派" in notice.text


def test_warnings_and_overdue_go_to_the_clocks_holder() -> None:
    warned = notices_for(event("deadline.warning", DeadlineChanged.model_validate(clock())), TICKET, TOWN)
    assert [(n.kind, n.unit) for n in warned] == [("deadline_warning", Unit("village", VILLAGE))]
    assert "12月18日" in warned[0].text and "办理" in warned[0].text
    late = notices_for(
        event("deadline.overdue", DeadlineChanged.model_validate(clock("overdue"))), TICKET, TOWN
    )
    assert [(n.kind, n.unit) for n in late] == [("overdue", Unit("village", VILLAGE))]
    # A clock nobody holds yet (分拣) has no unit to tell.
    orphan = DeadlineChanged.model_validate(clock("overdue", (None, None)))
    assert notices_for(event("deadline.overdue", orphan), TICKET, TOWN) == []


def test_an_escalation_goes_to_its_target() -> None:
    data = DeadlineEscalated.model_validate(
        {**clock("overdue"), "level": 1, "target_unit_type": "town", "target_unit_code": TOWN}
    )
    (notice,) = notices_for(event("deadline.escalated", data), TICKET, TOWN)
    assert (notice.kind, notice.unit) == ("escalated", Unit("town", TOWN))


def test_extensions_go_to_the_approver_and_back_to_the_holder() -> None:
    x = ExtensionChanged(
        extension_id=uuid.uuid4(), clock_id=uuid.uuid4(), clock="handling", unit_type="village", unit_code=VILLAGE,
        approver_type="town", approver_code=TOWN, days=3, due_date_before=date(2026, 12, 18),
    )  # fmt: skip
    (asked,) = notices_for(event("deadline.extension_requested", x), TICKET, TOWN)
    assert (asked.kind, asked.unit) == ("extension_requested", Unit("town", TOWN)) and "3天" in asked.text
    (refused,) = notices_for(event("deadline.extension_rejected", x), TICKET, TOWN)
    assert (refused.kind, refused.unit) == (
        "extension_decided",
        Unit("village", VILLAGE),
    ) and "未获批准" in refused.text
    extended = DeadlineChanged.model_validate({**clock(), "due_date": date(2026, 12, 23)})
    (granted,) = notices_for(event("deadline.extended", extended), TICKET, TOWN)
    assert (granted.kind, granted.unit) == (
        "extension_decided",
        Unit("village", VILLAGE),
    ) and "12月23日" in granted.text


def test_an_objection_goes_to_the_community_and_its_town() -> None:
    data = ConsultationObjected(
        consultation_id=uuid.uuid4(), unit_type="village", unit_code=VILLAGE, town_code=TOWN
    )
    notices = notices_for(event("consultation.objected", data), TICKET, TOWN)
    assert [(n.kind, n.unit) for n in notices] == [
        ("objection", Unit("village", VILLAGE)),
        ("objection", Unit("town", TOWN)),
    ]
    by_town = ConsultationObjected(
        consultation_id=uuid.uuid4(), unit_type="town", unit_code=TOWN, town_code=TOWN
    )
    assert [n.unit for n in notices_for(event("consultation.objected", by_town), TICKET, TOWN)] == [
        Unit("town", TOWN)
    ]


def test_a_plan_on_public_notice_goes_to_the_community_and_its_town_with_its_end() -> None:
    # 公示 until 12月13日 in Beijing: 16:00 UTC on the 12th is already the 13th there.
    ends = datetime(2026, 12, 12, 16, 30, tzinfo=UTC)
    data = ConsultationNoticed(
        consultation_id=uuid.uuid4(), unit_type="village", unit_code=VILLAGE, notice_ends_at=ends
    )
    notices = notices_for(event("consultation.noticed", data), TICKET, TOWN)
    assert [(n.kind, n.unit) for n in notices] == [
        ("noticed", Unit("village", VILLAGE)),
        ("noticed", Unit("town", TOWN)),
    ]
    assert all(TICKET in n.text and "公示期至12月13日" in n.text for n in notices)
    by_town = ConsultationNoticed(
        consultation_id=uuid.uuid4(), unit_type="town", unit_code=TOWN, notice_ends_at=ends
    )
    assert [n.unit for n in notices_for(event("consultation.noticed", by_town), TICKET, TOWN)] == [
        Unit("town", TOWN)
    ]


def test_a_staff_push_phone_must_take_sms() -> None:
    assert textable_phone("139 2664 0002") == "+8613926640002"
    assert textable_phone("+86 139-2664-0002") == "+8613926640002"
    for bad in ("0769-22221234", "12345", "not a phone"):
        with pytest.raises(InvalidPhoneProblem) as caught:
            textable_phone(bad)
        assert caught.value.code == "invalid_phone" and caught.value.extra == {"field": "phone"}


def test_other_events_make_no_notice_and_every_notifying_event_reaches_the_gateway() -> None:
    changed = event("appeal.status_changed", StatusChanged(from_status="received", to_status="triaged"))
    assert notices_for(changed, TICKET, TOWN) == []
    assert SUBSCRIPTIONS["gateway"] >= NOTIFYING


def test_a_notification_id_is_stable_per_event_kind_and_unit() -> None:
    e = uuid.uuid4()
    village, town = Unit("village", VILLAGE), Unit("town", TOWN)
    assert notification_id(e, "objection", village) == notification_id(e, "objection", village)
    assert len({notification_id(e, "objection", village), notification_id(e, "objection", town),
                notification_id(e, "overdue", village), notification_id(uuid.uuid4(), "objection", village)}) == 4  # fmt: skip


def test_a_notice_is_pushed_by_sms_and_subscribe_message_where_a_member_has_them() -> None:
    notice = Notice(
        "overdue", Unit("village", VILLAGE), f"诉求{TICKET}的办理时限已于12月18日超期，请尽快办理。"
    )
    both = StaffAccount(phone_enc=encrypt_pii("+8613800138000"), openid="o-staff-0123456789abcdef")
    none = StaffAccount(phone_enc=None, openid=None)
    planned = push_plans([both, none], notice, TICKET, datetime(2026, 12, 19, 1, 0, tzinfo=UTC))
    assert [p.channel for p in planned] == ["sms", "mp_subscribe"]
    sms, push = planned
    assert sms.phone == "+8613800138000" and sms.recipient_masked != sms.phone
    assert sms.content["params"] == {
        "ticket_no": TICKET,
        "status": "超期提醒",
        "text": f"【民生大莞家】{notice.text}",
    }
    data = push.content["data"]
    assert data["character_string1"]["value"] == TICKET and data["phrase2"]["value"] == "超期提醒"
    assert len(data["thing3"]["value"]) <= 20 and data["time4"]["value"] == "2026-12-19 09:00"


def test_a_parked_job_is_told_to_the_citys_administrators() -> None:
    parked = JobParked(
        service="routing", letter_id=42, job_name="routing.handle_event", event_type="appeal.received"
    )
    event = make_event("ops.job_parked", "routing", parked, appeal_id=uuid.uuid4())
    (notice,) = notices_for(event, "MS2026120700000001", "441900121000")
    assert (notice.kind, notice.unit) == ("job_parked", Unit("city", "city"))
    assert (
        "分拣交办服务未能处理诉求MS2026120700000001的appeal.received事件" in notice.text
        and "编号42" in notice.text
    )

    # A dependency away parks hundreds alike: one notice an hour per service, job and event type.
    def told(letter: int, event_type: str = "appeal.received", service: str = "routing") -> Notice:
        data = JobParked.model_validate(
            {
                "service": service,
                "letter_id": letter,
                "job_name": f"{service}.handle_event",
                "event_type": event_type,
            }
        )
        (one,) = notices_for(
            make_event("ops.job_parked", "routing", data, appeal_id=uuid.uuid4()), None, None
        )
        return one

    def nid(n: Notice) -> uuid.UUID:
        return notification_id(uuid.uuid4(), n.kind, n.unit, n.key)  # each its own event

    assert nid(told(1)) == nid(told(2))
    assert len({nid(told(1)), nid(told(3, "appeal.triaged")), nid(told(4, service="intake"))}) == 3
    later = make_event("ops.job_parked", "routing", JobParked.model_validate({"service": "routing", "letter_id": 5, "job_name": "routing.handle_event", "event_type": "appeal.received"}))  # fmt: skip
    next_hour = later.model_copy(update={"occurred_at": later.occurred_at + timedelta(hours=1)})
    assert nid(notices_for(later, None, None)[0]) != nid(notices_for(next_hour, None, None)[0])
    # A job that carried no event is named by its job.
    other = make_event(
        "ops.job_parked", "ledger", JobParked(service="ledger", letter_id=7, job_name="ledger.link")
    )
    assert "资金台账服务未能处理任务ledger.link" in notices_for(other, None, None)[0].text


def test_a_notice_about_no_appeal_shows_a_dash_where_wechat_wants_a_ticket() -> None:
    # 受理编号 is a character_string field, which WeChat refuses empty.
    notice = Notice(
        "job_parked", Unit("city", "city"), "时限服务未能处理任务deadlines.sweep，已转入失败任务。"
    )
    member = StaffAccount(phone_enc=encrypt_pii("+8613800138000"), openid="o-staff-0123456789abcdef")
    sms, push = push_plans([member], notice, None, datetime(2026, 12, 19, 1, 0, tzinfo=UTC))
    assert push.content["data"]["character_string1"]["value"] == "-"
    assert sms.content["params"]["text"] == f"【民生大莞家】{notice.text}"
