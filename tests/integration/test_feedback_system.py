"""The whole system (`guanjia up`) tells each reporter about every change of status, once each.

A 12345 caller and a family a cadre filed for get an SMS, a mini-program user a subscribe
message, for every public status their appeal reaches while routing and intake move it along;
the SMS gateway fails at first and the gateway's worker retries. WeChat and the SMS gateway are
local stand-ins; everything of ours runs as its real processes.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from services.common.auth import Principal, mint_service_token, mint_staff_token
from services.common.personal import id_check_char
from services.gateway.service.feedback.messages import phrase
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.wechat_api import FakeWechatApi
from tests.system.harness import RunningSystem, db_scalar, hotline_body, signed_headers, start_system

T = TypeVar("T")
MP_APP, MP_SECRET = "wx-mp-sys-app", "mp-sys-secret"
ID_BODY = "44190019600101002"
FAMILY_ID = ID_BODY + id_check_char(ID_BODY)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningSystem, FakeSmsGateway, FakeWechatApi]]:
    sms = FakeSmsGateway().start()
    wechat = FakeWechatApi({MP_APP: MP_SECRET}).start()
    # The first texts meet a busy gateway: the worker must retry them.
    sms.fail_next(503, 503)
    system = start_system(
        tmp_path_factory.mktemp("feedback-system"),
        extra_env={
            "GUANJIA_SMS_URL": sms.url,
            "GUANJIA_WECHAT_API_BASE": wechat.base,
            "GUANJIA_MINIPROGRAM_APP_ID": MP_APP,
            "GUANJIA_MINIPROGRAM_SECRET": MP_SECRET,
            "GUANJIA_MINIPROGRAM_STATUS_TEMPLATE": "tmpl-status-sys",
            # Other modules file the same 12345 call: ours must not be linked to theirs.
            "GUANJIA_DUPLICATE_LINK_AT": "1.01",
            "GUANJIA_DUPLICATE_SUGGEST_AT": "1.01",
        },
    )
    try:
        yield system, sms, wechat
    finally:
        system.stop()
        sms.stop()
        wechat.stop()


def wait_for(predicate: Callable[[], T | None], timeout: float = 120.0) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s (last: {last!r})")


def public_changes(client: httpx.Client, ticket: str, code: str) -> list[str]:
    """The statuses the public timeline shows after `received`."""
    doc: dict[str, Any] = client.get(f"/api/v1/public/appeals/{ticket}", params={"code": code}).json()
    return [t["status"] for t in doc["timeline"]][1:]


def told_of_every_change(
    client: httpx.Client, ticket: str, code: str, seen: Callable[[], list[str]]
) -> tuple[list[str], list[str]] | None:
    """(changes, messages) once there is one message per public change so far."""
    changes = public_changes(client, ticket, code)
    told = seen()
    return (changes, told) if changes and len(told) == len(changes) else None


def test_every_reporter_hears_every_change_once(
    world: tuple[RunningSystem, FakeSmsGateway, FakeWechatApi],
) -> None:
    system, sms, wechat = world
    with httpx.Client(base_url=system.base_url, timeout=10) as client:
        # A 12345 caller.
        # Not the street lights the other system tests report: theirs must not become our duplicates.
        body = hotline_body(
            f"call-{uuid.uuid4()}",
            caller_number="137 2468 1357",
            transcript=[
                {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
                {
                    "speaker": "caller",
                    "text": "我是长安镇霄边社区的，锦绣花园门口的排水沟堵了，一下雨就水浸，车都开不出去。",
                    "offset_ms": 2100,
                },
            ],
            summary="来电反映长安镇霄边社区锦绣花园门口排水沟堵塞，雨天水浸，请求疏通。",
            category_hint="排水",
            address="长安镇霄边社区锦绣花园",
        )
        r = client.post(
            "/api/v1/channels/hotline-12345/calls",
            content=body,
            headers=signed_headers(os.environ["GUANJIA_HOTLINE_SECRET"], body),
        )
        assert r.status_code == 202, r.text
        call = r.json()

        # A family a village cadre filed for.
        cadre = Principal(
            staff_id=str(uuid.uuid4()),
            username="beizha.li",
            role="village_staff",
            org_type="village",
            org_code="441900121001",
        )
        r = client.post(
            "/api/v1/channels/village-visit/appeals",
            json={
                "description": "陈伯独居，屋顶漏水，请求帮助维修。",
                "family": {"name": "陈伯", "phone": "13976540099", "id_number": FAMILY_ID},
            },
            headers={
                "Authorization": f"Bearer {mint_staff_token(cadre)[0]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        assert r.status_code == 201, r.text
        visit = r.json()

        # A mini-program user (filed straight into intake, as the mini-program channel does).
        openid = f"o-sys-{uuid.uuid4().hex[:12]}"
        intake = f"http://127.0.0.1:{int(system.env['GUANJIA_INTERNAL_PORT_BASE']) + 1}"
        r = httpx.post(
            f"{intake}/internal/appeals",
            json={
                "channel": "wechat_miniprogram",
                "channel_ref": f"mp-{uuid.uuid4().hex}",
                "description": "长安镇霄边社区文化广场的健身器材坏了，老人没法锻炼。",
                "reporter": {"openid": openid},
                "location": {"address": "长安镇霄边社区文化广场"},
            },
            headers={"Authorization": f"Bearer {mint_service_token('gateway')}"},
        )
        assert r.status_code == 201, r.text
        mini = r.json()

        def texts(ticket: str) -> Callable[[], list[str]]:
            return lambda: [
                s.params["status"] for s in sms.state.sent.values() if s.params["ticket_no"] == ticket
            ]

        def pushes() -> list[str]:
            return [m.body["data"]["phrase2"]["value"] for m in wechat.accepted_for(openid)]

        followed = ((call, texts(call["ticket_no"])), (visit, texts(visit["ticket_no"])), (mini, pushes))
        for accepted, seen in followed:
            ticket, code = accepted["ticket_no"], accepted["query_code"]

            def every_change_told(
                t: str = ticket, c: str = code, s: Callable[[], list[str]] = seen
            ) -> tuple[list[str], list[str]] | None:
                return told_of_every_change(client, t, c, s)

            try:
                changes, told = wait_for(every_change_told)
            except AssertionError:
                raise AssertionError(
                    f"{ticket}: changes {public_changes(client, ticket, code)}, told {seen()}\n{system.logs()}"
                ) from None
            assert "triaged" in changes
            # One message per change, each in words, none twice.
            assert sorted(told) == sorted(phrase(status) for status in changes), (told, changes)
        time.sleep(2)  # a late duplicate would show up now
        for accepted, seen in followed:
            assert len(seen()) == len(public_changes(client, accepted["ticket_no"], accepted["query_code"]))

    # The busy SMS gateway cost retries, not messages; every delivery ended delivered.
    assert [r.status for r in sms.state.requests[:2]] == [503, 503]
    tickets = [call["ticket_no"], visit["ticket_no"], mini["ticket_no"]]
    open_or_failed = db_scalar(
        "SELECT count(*) FROM gateway.feedback_deliveries WHERE ticket_no = ANY(:t) AND status <> 'delivered'",
        t=tickets,
    )
    assert open_or_failed == 0
