"""Helpers of `test_injected_clock.py`: who acts, how the test moves the system's clock, and the
requests every step makes."""

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


def street_lights(client: httpx.Client, system: RunningSystem, where: str) -> dict[str, Any]:
    """A micro-project of 北栅社区 by the hotline, in consultation at the community."""
    accepted = call(
        client,
        summary=f"来电反映虎门镇北栅社区{where}多盏路灯损坏，夜间照明不足，存在安全隐患，请求尽快维修。",
        address=f"东莞市虎门镇北栅社区{where}",
    )
    try:
        wait_for(lambda: public(client, accepted)["status"] == "consulting", what="consulting")
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
