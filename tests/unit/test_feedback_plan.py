"""Who hears about a change on which channel, and in which words (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.contracts.contacts import AppealContacts, ContactPerson
from services.gateway.service.feedback import messages
from services.gateway.service.feedback.plan import Change, delivery_id, plan

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
STATUSES = list(messages.STATUS_PHRASE)


def contacts(channel: str, *people: ContactPerson, received_at: datetime = NOW) -> AppealContacts:
    return AppealContacts(
        appeal_id=uuid.uuid4(),
        ticket_no="MS20261127000042",
        channel=channel,
        channel_ref="r",
        status="triaged",
        received_at=received_at,
        callback_requested=False,
        reporters=list(people),
    )


def person(relation: str = "reporter", **kw: str) -> ContactPerson:
    return ContactPerson(relation=relation, role="resident", **kw)


def channels(c: AppealContacts, **kw: object) -> list[tuple[str, str | None]]:
    out = plan(c, Change("triaged"), occurred_at=NOW, now=NOW, last_messages=kw.get("last", {}))  # type: ignore[arg-type]
    return sorted((p.channel, p.skipped) for p in out)


def test_a_mini_program_user_gets_a_subscribe_message_only() -> None:
    c = contacts("wechat_miniprogram", person(openid="o-1", phone="+8613900000001"))
    assert channels(c) == [("mp_subscribe", None)]


def test_the_official_account_window() -> None:
    old = NOW - timedelta(hours=49)
    fresh = contacts("wechat_official", person(openid="o-2", phone="+8613900000002"))
    assert channels(fresh) == [("oa_custom", None)]
    stale = contacts("wechat_official", person(openid="o-2", phone="+8613900000002"), received_at=old)
    assert channels(stale) == [("oa_custom", "window_closed"), ("sms", None)]
    assert channels(stale, last={"o-2": NOW - timedelta(hours=47)}) == [("oa_custom", None)]
    silent = contacts("wechat_official", person(openid="o-3"), received_at=old)
    assert channels(silent) == [("oa_custom", "window_closed")]


def test_callers_and_families_get_sms_and_staff_without_phones_nothing() -> None:
    assert channels(contacts("hotline_12345", person(phone="+8613900000004"))) == [("sms", None)]
    visit = contacts(
        "village_visit",
        ContactPerson(relation="reporter", role="cadre", name="李"),
        person("on_behalf_of", phone="+8613900000005"),
    )
    assert channels(visit) == [("sms", None)]
    # One phone, two relations: one message.
    same = contacts(
        "station_walk_in", person(phone="+8613900000006"), person("on_behalf_of", phone="+8613900000006")
    )
    assert channels(same) == [("sms", None)]
    assert channels(contacts("grid_inspector", ContactPerson(relation="reporter", role="inspector"))) == []


def test_delivery_ids_are_stable_per_event_channel_and_recipient() -> None:
    event = uuid.uuid4()
    assert delivery_id(event, "sms", "h") == delivery_id(event, "sms", "h")
    assert delivery_id(event, "sms", "h") != delivery_id(event, "oa_custom", "h")
    assert delivery_id(event, "sms", "h") != delivery_id(uuid.uuid4(), "sms", "h")


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_fits_wechats_field_limits(status: str) -> None:
    data = messages.subscribe_data("MS20261127000042", status, NOW)
    assert 1 <= len(data["phrase2"]["value"]) <= 5
    assert 1 <= len(data["thing3"]["value"]) <= 20
    assert data["time4"]["value"] == "2026-11-27 16:00"  # Asia/Shanghai
    sms = messages.sms_params("MS20261127000042", status)
    assert sms["text"].startswith("【民生大莞家】") and "MS20261127000042" in sms["text"]


def test_a_masters_progress_is_told_in_intakes_words() -> None:
    words = "合并办理的主诉求已办结，请您评价办理结果（主诉求 MS20261127000001）"
    c = contacts("hotline_12345", person(phone="+8613900000007"))
    [sms] = plan(c, Change("completed", words=words), occurred_at=NOW, now=NOW, last_messages={})
    assert sms.content["params"]["status"] == "已办结"
    assert sms.content["params"]["text"] == f"【民生大莞家】您反映的诉求（受理编号MS20261127000042）{words}。"
    data = messages.subscribe_data("MS1", "completed", NOW, words)
    assert data["thing3"]["value"] == words[:20]
