"""Helpers of `test_injected_clock.py`: who acts, how the test moves the system's clock, the
requests every step makes, and the waits for what the workers do in the meantime."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.common.auth import Principal
from services.common.queue import connect, queue_name
from tests.fakes.wechat_code2session import FakeCode2Session
from tests.fixtures import bearer
from tests.system.harness import RunningSystem, hotline_body, signed_headers

T = TypeVar("T")
DAY = 86_400
HUMEN, BEIZHA = "441900121000", "441900121001"
POINTS = ("necessity", "feasibility", "budget", "beneficiaries", "implementer")


def person(role: str, org_type: str, org_code: str) -> Principal:
    return Principal.model_validate(
        {
            "staff_id": str(uuid.uuid4()),
            "username": f"{role}.{org_code}",
            "role": role,
            "org_type": org_type,
            "org_code": org_code,
        }
    )


CITY = person("city_admin", "city", "city")
TOWN = person("town_staff", "town", HUMEN)
VILLAGE = person("village_staff", "village", BEIZHA)
DEPARTMENT = person("department_staff", "department", "civil_affairs")


def advance(system: RunningSystem, days: float) -> None:
    """Move every process's clock `days` further ahead."""
    path = Path(system.env["GUANJIA_CLOCK_FILE"])
    new = path.with_suffix(".new")
    new.write_text(str(float(path.read_text()) + days * DAY))
    new.replace(path)  # atomic: no process reads a half-written offset


# Generous: the whole suite runs on two cores, and a sweep, a worker and a push each take their turn.
def wait_for(predicate: Callable[[], T | None], timeout: float = 120.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout}s (last: {last!r})")


def enqueue(service: str, job: str) -> None:
    """Run a worker's job now instead of at its next cron slot, as an operator could."""

    async def go() -> None:
        redis = await connect()
        try:
            await redis.enqueue_job(job, _queue_name=queue_name(service))
        finally:
            await redis.aclose()

    asyncio.run(go())


def call(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = hotline_body(f"call-{uuid.uuid4()}", **overrides)
    r = client.post(
        "/api/v1/channels/hotline-12345/calls",
        content=body,
        headers=signed_headers(os.environ["GUANJIA_HOTLINE_SECRET"], body),
    )
    assert r.status_code == 202, r.text
    accepted: dict[str, Any] = r.json()
    return accepted


def public(client: httpx.Client, accepted: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/api/v1/public/appeals/{accepted['ticket_no']}", params={"code": accepted["query_code"]})
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def wait_status(client: httpx.Client, accepted: dict[str, Any], status: str) -> None:
    """Wait until the appeal's public status reads `status`."""
    wait_for(lambda: public(client, accepted)["status"] == status, what=status)


def street_lights(client: httpx.Client, system: RunningSystem, where: str) -> dict[str, Any]:
    """A micro-project of 北栅社区 by the hotline, in consultation at the community."""
    accepted = call(
        client,
        summary=f"来电反映虎门镇北栅社区{where}多盏路灯损坏，夜间照明不足，存在安全隐患，请求尽快维修。",
        address=f"东莞市虎门镇北栅社区{where}",
    )
    try:
        wait_status(client, accepted, "consulting")
    except AssertionError:
        raise AssertionError(f"{public(client, accepted)}\n{system.logs()}") from None
    return accepted


def notes(client: httpx.Client, who: Principal, ticket: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get(
            "/api/v1/staff/notifications",
            params={"cursor": cursor} if cursor else {},
            headers=bearer(who),
        )
        assert r.status_code == 200, r.text
        items += [n for n in r.json()["items"] if n["ticket_no"] == ticket]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def wait_note(client: httpx.Client, who: Principal, ticket: str, kind: str) -> list[dict[str, Any]]:
    """Wait for `who`'s notifications of `kind` about the appeal `ticket`, and return them."""
    return wait_for(
        lambda: [n for n in notes(client, who, ticket) if n["kind"] == kind], what=f"{kind} notice"
    )


def minutes(
    appeal_id: str,
    where: str,
    *,
    budget_fen: int,
    residents: int,
    track: str = "direct",
    present: int = 20,
    votes: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The minutes of a 北栅社区 residents' council on street lights at `where` (25 eligible), by
    default passing on every point."""
    return {
        "appeal_id": appeal_id,
        "form": "residents_council",
        "held_at": "2026-12-05T19:30:00+08:00",
        "eligible_count": 25,
        "present_count": present,
        "attendees": [{"name": "陈伯", "role": "居民代表"}],
        "necessity": f"{where}路灯损坏多盏，夜间出行不安全",
        "feasibility": "线路可利用原有杆件，施工一周",
        "budget_fen": budget_fen,
        "beneficiaries": {"count": residents, "group": f"{where}居民"},
        "implementer": "北栅社区居委会",
        "votes": votes or {p: {"yes": 16, "no": 3, "abstain": 1} for p in POINTS},
        "track": track,
        "holder_type": "village",
        "holder_code": BEIZHA,
    }


def verified_donor(client: httpx.Client) -> tuple[dict[str, Any], str]:
    """A donor who applied and whom the city verified: the donor and its key."""
    joined = client.post(
        "/api/v1/donors", json={"kind": "individual", "name": f"爱心人士{uuid.uuid4().hex[:4]}"}
    )
    assert joined.status_code == 201, joined.text
    donor: dict[str, Any] = joined.json()["donor"]
    key: str = joined.json()["key"]
    verified = client.post(
        f"/api/v1/donors/{donor['id']}/state", json={"state": "verified"}, headers=bearer(CITY)
    )
    assert verified.status_code == 200, verified.text
    return donor, key


def listings_of(client: httpx.Client, key: str, appeal_id: str) -> list[dict[str, Any]]:
    """The donor's listings of the appeal `appeal_id` (none, or one)."""
    r = client.get("/api/v1/donors/listings", headers={"X-Donor-Key": key})
    assert r.status_code == 200, r.text
    return [x for x in r.json() if x["appeal_id"] == appeal_id]


def resident(client: httpx.Client, wechat: FakeCode2Session) -> dict[str, str]:
    """A new resident's session through the mini-program's WeChat login: its bearer header."""
    session = client.post(
        "/api/v1/miniprogram/session", json={"code": wechat.issue_code("o" + uuid.uuid4().hex[:27])}
    )
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['access_token']}"}
