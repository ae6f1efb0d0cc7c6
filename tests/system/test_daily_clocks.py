"""Issue 16.4 and 16.7 on the real system (`guanjia up`): a 12345 caller asks for 最低生活保障; the
department's handling clock runs for the catalogue's 30 working days; the department cannot
start before it signs off; a dissatisfied return visit meets the round's feedback clock and
the redone round gets its own handling clock.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from services.common.auth import Principal
from tests.fixtures import bearer
from tests.system.harness import RunningSystem, db_scalar, hotline_body, signed_headers, start_system

T = TypeVar("T")
DEPARTMENT = Principal(
    staff_id=str(uuid.uuid4()),
    username="civil.affairs.wang",
    role="department_staff",
    org_type="department",
    org_code="civil_affairs",
)
CITY = Principal(
    staff_id=str(uuid.uuid4()), username="city.zhao", role="city_admin", org_type="city", org_code="city"
)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("clocks"))
    try:
        yield running
    finally:
        running.stop()


def wait_for(predicate: Callable[[], T | None], timeout: float = 40.0) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s (last: {last!r})")


def clocks(appeal_id: str, clock: str) -> list[tuple[int, str, int]] | None:
    """(round, state, limit) of the appeal's clocks of one kind, in round order."""
    rows = db_scalar(
        "SELECT json_agg(json_build_array(round, state, limit_value) ORDER BY round, started_at)"
        " FROM deadlines.clocks WHERE appeal_id = CAST(:a AS uuid) AND clock = :c",
        a=appeal_id,
        c=clock,
    )
    return [tuple(r) for r in rows] if rows else None


def status(appeal_id: str) -> Any:
    return db_scalar("SELECT status FROM intake.appeals WHERE id = CAST(:a AS uuid)", a=appeal_id)


def history(appeal_id: str) -> Any:
    return db_scalar(
        "SELECT json_agg(json_build_array(to_status, actor) ORDER BY at) FROM intake.timeline"
        " WHERE appeal_id = CAST(:a AS uuid)",
        a=appeal_id,
    )


def test_a_policy_referral_through_two_rounds(system: RunningSystem) -> None:
    body = hotline_body(
        f"call-{uuid.uuid4()}",
        caller_number="137 1357 2468",
        transcript=[
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {
                "speaker": "caller",
                "text": "我住南城街道，我老公去年去世，我一个人带两个孩子，没有收入，想申请低保。",
                "offset_ms": 2100,
            },
        ],
        summary="来电人丈夫去世，独自抚养两个孩子，无收入，咨询申请最低生活保障。",
        category_hint="社会救助",
        address="东莞市南城街道",
    )
    with httpx.Client(base_url=system.base_url, timeout=10) as client:
        r = client.post(
            "/api/v1/channels/hotline-12345/calls",
            content=body,
            headers=signed_headers(os.environ["GUANJIA_HOTLINE_SECRET"], body),
        )
        assert r.status_code == 202, r.text
        appeal_id = r.json()["appeal_id"]

        # 最低生活保障: the department's handling clock runs for the catalogue's 30 working days.
        handling = wait_for(lambda: clocks(appeal_id, "handling"))
        assert handling == [(1, "running", 30)], system.logs()
        staff_appeal = f"/api/v1/staff/appeals/{appeal_id}"
        try:
            wait_for(lambda: status(appeal_id) == "approved")
        except AssertionError:
            raise AssertionError(f"{history(appeal_id)}\n{system.logs()}") from None

        # Not before its sign-off (签收): 409, and the sign-off is what starts the work.
        early = client.post(f"{staff_appeal}/start", json={"reason": "开始核查"}, headers=bearer(DEPARTMENT))
        assert early.status_code == 409, early.text
        assert early.headers["content-type"].startswith("application/problem+json")
        assert early.json()["code"] == "not_signed_off"
        signed = client.post(f"/api/v1/routing/assignments/{appeal_id}/sign-off", headers=bearer(DEPARTMENT))
        assert signed.status_code == 200, signed.text

        wait_for(lambda: status(appeal_id) == "in_progress")
        done = client.post(
            f"{staff_appeal}/complete", json={"reason": "已审核发放"}, headers=bearer(DEPARTMENT)
        )
        assert done.status_code == 200, done.text
        wait_for(lambda: clocks(appeal_id, "feedback"))

        # The return visit: not satisfied. Round 1's feedback clock is met; round 2 is timed.
        visit = {"result": "not", "rating": "dissatisfied", "comment": "还没有收到补助"}
        closed = client.post(f"{staff_appeal}/close", json=visit, headers=bearer(CITY))
        assert closed.status_code == 200 and closed.json()["status"] == "reopened", closed.text
        assert wait_for(lambda: clocks(appeal_id, "feedback") == [(1, "met", 1)] or None)
        assert wait_for(lambda: (c := clocks(appeal_id, "handling")) and len(c) == 2 and c) == [
            (1, "met", 30),
            (2, "running", 30),
        ]
