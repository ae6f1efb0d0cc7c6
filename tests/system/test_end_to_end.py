"""The whole system, started by `guanjia up`, walked through by a 12345 call (issue: Foundation).

Real processes, real PostgreSQL and Redis, real arq workers: nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli import gateway_processes
from services.contracts.events import TAKEN_FIRST
from tests.system.harness import RunningSystem, db_scalar, hotline_body, signed_headers, start_system

SECRET = os.environ["GUANJIA_HOTLINE_SECRET"]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("guanjia"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=10) as c:
        yield c


def post_call(client: httpx.Client, body: bytes, **sig: Any) -> httpx.Response:
    return client.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers=signed_headers(SECRET, body, **sig)
    )


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def test_health_and_docs(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) >= {"database", "redis", "intake", "routing", "deadlines", "ledger"}
    spec = client.get("/openapi.json").json()
    assert "/api/v1/channels/hotline-12345/calls" in spec["paths"]
    assert "/api/v1/public/appeals/{ticket_no}" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_hotline_call_walks_through_the_system(client: httpx.Client) -> None:
    body = hotline_body(f"call-{uuid.uuid4()}")
    first = post_call(client, body)
    assert first.status_code == 202, first.text
    accepted = first.json()
    assert set(accepted) == {"appeal_id", "ticket_no", "query_code"}
    assert accepted["ticket_no"].startswith("MS")

    again = post_call(client, body)
    assert again.status_code == 200
    assert again.json() == accepted

    url = f"/api/v1/public/appeals/{accepted['ticket_no']}"

    def triaged_with_deadlines() -> dict[str, Any] | None:
        r = client.get(url, params={"code": accepted["query_code"]})
        assert r.status_code == 200, r.text
        doc: dict[str, Any] = r.json()
        return doc if doc["status"] != "received" and doc["deadlines"] else None

    doc = wait_for(triaged_with_deadlines, timeout=20)
    assert doc["kind"] == "micro_project"
    assert doc["town"] == "虎门"
    assert doc["duplicate_of"] is None
    clocks = {d["clock"]: d for d in doc["deadlines"]}
    assert "triage" in clocks
    assert all(d["due_at"] and isinstance(d["provisional"], bool) for d in doc["deadlines"])
    assert [t["status"] for t in doc["timeline"]][:2] == ["received", "triaged"]
    assert all(t["description"] for t in doc["timeline"])

    # The caller's number appears nowhere in what the public sees, in any form.
    raw = client.get(url, params={"code": accepted["query_code"]}).text
    for form in ("13976543210", "+8613976543210", "139 7654 3210", "139****3210", "76543210", "7654"):
        assert form not in raw

    # The micro-project goes to its community for consultation, every clock projected.
    def settled() -> dict[str, Any] | None:
        d: dict[str, Any] = client.get(url, params={"code": accepted["query_code"]}).json()
        clocks = {c["clock"]: c["state"] for c in d["deadlines"]}
        want = {"triage": "met", "consultation": "running", "sign_off": "running"}
        return d if d["status"] == "consulting" and clocks == want else None

    wait_for(settled, timeout=20)

    # Conditional polling: unchanged -> 304; a change always comes with a new ETag.
    r = client.get(url, params={"code": accepted["query_code"]})
    etag = r.headers["etag"]
    not_modified = client.get(url, params={"code": accepted["query_code"]}, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other = client.get(url, params={"code": accepted["query_code"]}, headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.headers["etag"] == etag

    wrong = "000000" if accepted["query_code"] != "000000" else "111111"
    for bad in (
        client.get(url, params={"code": wrong}),
        client.get("/api/v1/public/appeals/MS20000101999999", params={"code": wrong}),
    ):
        assert bad.status_code == 404
        assert bad.headers["content-type"].startswith(PROBLEM)
        assert bad.json()["code"] == "not_found"


def test_signature_failures_are_401_problems(client: httpx.Client) -> None:
    body = hotline_body(f"call-{uuid.uuid4()}")
    bad = client.post(
        "/api/v1/channels/hotline-12345/calls",
        content=body,
        headers={**signed_headers(SECRET, body), "X-Signature": "0" * 64},
    )
    stale = post_call(client, body, timestamp=int(time.time()) - 360)
    future = post_call(client, body, timestamp=int(time.time()) + 360)
    missing = client.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers={"Content-Type": "application/json"}
    )
    other_key = client.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers=signed_headers("not-the-secret", body)
    )
    for r in (bad, stale, future, missing, other_key):
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["code"] == "bad_signature"
        assert r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"call_id": "x"}).encode(),
        hotline_body("c-1", transcript=[{"speaker": "robot", "text": "hi", "offset_ms": 0}]),
        hotline_body("c-2", started_at="yesterday"),
        hotline_body("c-3", transcript=[], summary=None),
        hotline_body("c-4", ended_at="2026-11-27T08:00:00+08:00"),
    ],
)
def test_malformed_bodies_are_422_problems(client: httpx.Client, body: bytes) -> None:
    r = post_call(client, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["code"] == "invalid_input"
    assert problem["status"] == 422
    assert problem["detail"]


def test_same_call_id_with_another_body_is_409_and_writes_nothing(client: httpx.Client) -> None:
    call_id = f"call-{uuid.uuid4()}"
    assert post_call(client, hotline_body(call_id)).status_code == 202
    r = post_call(client, hotline_body(call_id, summary="完全不同的内容"))
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_key_reused"

    assert db_scalar("SELECT count(*) FROM intake.appeals WHERE channel_ref = :ref", ref=call_id) == 1


def test_many_concurrent_replays_make_one_appeal(client: httpx.Client, system: RunningSystem) -> None:
    call_id = f"call-{uuid.uuid4()}"
    body = hotline_body(call_id)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as ac:
            return await asyncio.gather(
                *[
                    ac.post(
                        "/api/v1/channels/hotline-12345/calls",
                        content=body,
                        headers=signed_headers(SECRET, body),
                    )
                    for _ in range(20)
                ]
            )

    responses = asyncio.run(burst())
    assert sorted({r.status_code for r in responses}) in ([200, 202], [202])
    assert sum(r.status_code == 202 for r in responses) == 1
    assert len({r.json()["ticket_no"] for r in responses}) == 1


def test_staff_login_and_cli(system: RunningSystem, client: httpx.Client) -> None:
    import subprocess
    import sys

    env = system.env
    user = f"town-{uuid.uuid4().hex[:6]}"
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "staff",
            "create",
            "--username",
            user,
            "--password",
            "s3cret-pass",
            "--role",
            "town_staff",
            "--org",
            "虎门",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    token = client.post("/api/v1/auth/staff", json={"username": user, "password": "s3cret-pass"})
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer" and token.json()["expires_in"] > 0
    denied = client.post("/api/v1/auth/staff", json={"username": user, "password": "wrong-pass"})
    assert denied.status_code == 401 and denied.headers["content-type"].startswith(PROBLEM)

    key = subprocess.run(
        [sys.executable, "-m", "services.cli", "apikey", "create", "--name", "open311-test"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert key.returncode == 0, key.stderr
    assert key.stdout.strip().splitlines()[-1].startswith("gj_")


def test_calendar_due_through_the_gateway(client: httpx.Client) -> None:
    r = client.get("/api/v1/calendar/due", params={"start": "2025-09-30", "working_days": 1})
    assert r.status_code == 200, r.text
    assert r.json() == {"due": "2025-10-09", "provisional": False}
    bad = client.get("/api/v1/calendar/due", params={"start": "not-a-date", "working_days": 1})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)


def test_stop_leaves_no_orphans(tmp_path: Path) -> None:
    running = start_system(tmp_path)
    pids = running.child_pids()
    # Four services, five workers, the first lanes and the gateway's processes (one per core, at
    # most four).
    assert len(pids) == 9 + len(TAKEN_FIRST) + gateway_processes()
    assert running.stop() == 0

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A zombie is dead for our purposes.
        stat = Path(f"/proc/{pid}/stat")
        return stat.exists() and stat.read_text().split()[2] != "Z"

    assert not [p for p in pids if alive(p)]


def test_bad_input_anywhere_is_a_problem_never_a_500(client: httpx.Client) -> None:
    cases = [
        (client.get("/api/v1/nowhere"), 404, "not_found"),
        (client.delete("/api/v1/channels/hotline-12345/calls"), 405, "method_not_allowed"),
        (
            client.post("/api/v1/auth/staff", content=b"{oops", headers={"Content-Type": "application/json"}),
            422,
            "invalid_input",
        ),
        (client.post("/api/v1/auth/staff", json={"username": ""}), 422, "invalid_input"),
        (
            client.post("/api/v1/auth/staff", json={"username": "nobody", "password": "x"}),
            401,
            "unauthorized",
        ),
        (client.get("/api/v1/staff/appeals/not-a-uuid"), 401, "unauthorized"),
        (client.get("/api/v1/calendar/due", params={"start": "2025-01-01"}), 422, None),
        (client.get("/api/v1/public/appeals/MS1"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), response.request.url
        problem = response.json()
        assert problem["status"] == status and problem["detail"] and problem["code"]
        if code:
            assert problem["code"] == code
