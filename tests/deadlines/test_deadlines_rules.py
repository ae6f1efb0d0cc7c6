"""Versioned clock tables: city staff publish through the API; a new version applies to clocks
started after it (events through the real worker), never to a deadline already issued."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from deadlines.models import RuleSetRecord
from deadlines.service.rules import DEFAULT_RULES
from deadlines.service.rulesets import rule_to_row
from services.common.db import session_scope
from services.common.messaging import utcnow
from tests.deadlines.support import (
    assert_problem,
    assigned,
    clocks_of,
    empty_queue,
    feed,
    internal_client,
    received,
)
from tests.fixtures import auth, staff


def city() -> dict[str, str]:
    """City staff's headers, minted at each call: a service token lives 120 s, so one minted at
    import had expired whenever the session reached this module more than 120 s after collection."""
    return auth(staff("city_admin"))


RULES = "/internal/deadlines/rules"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    await empty_queue()
    async for c in internal_client():
        yield c


async def _newest(client: httpx.AsyncClient) -> dict[str, Any]:
    versions = (await client.get(RULES)).json()
    assert versions[-1]["builtin"] and versions[-1]["version"] == DEFAULT_RULES.version
    newest: dict[str, Any] = versions[0]
    return newest


def _with_policy_row(base: dict[str, Any], policy: str, **row: Any) -> dict[str, Any]:
    """The base table with one row for ``policy`` first: nothing else changes for anyone else."""
    own = {"clock": "handling", "label": "测试政策办理", "track": "policy", "policy_code": policy, **row}
    return {
        "version": f"t{uuid.uuid4().hex[:12]}",
        "base_version": base["version"],
        "warn_ratio": base["warn_ratio"],
        "max_extensions": base["max_extensions"],
        "rules": [own, *base["rules"]],
        "note": "测试",
    }


async def test_a_new_version_applies_only_to_clocks_started_after_it(client: httpx.AsyncClient) -> None:
    policy = f"test_{uuid.uuid4().hex[:8]}"
    before, late_event, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    earlier = utcnow() - timedelta(seconds=5)
    await feed(received(before, earlier), assigned(before, earlier, track="policy", policy_code=policy))
    old = (await clocks_of(before))["handling", 1]
    assert (old.limit_value, old.extensions_allowed) == (10, 1)

    base = await _newest(client)
    body = _with_policy_row(base, policy, working_days=15, max_extensions=2, warn_ratio=0.5)
    published = await client.post(RULES, json=body, headers=city())
    assert published.status_code == 201, published.text
    version = published.json()
    assert (version["version"], version["base_version"], version["in_effect"]) == (
        body["version"],
        base["version"],
        True,
    )
    assert version["rules"][0] == {
        "clock": "handling",
        "label": "测试政策办理",
        "working_days": 15,
        "months": None,
        "kind": None,
        "urgency": None,
        "track": "policy",
        "policy_code": policy,
        "warn_ratio": 0.5,
        "max_extensions": 2,
    }

    now = utcnow()
    await feed(received(after, now), assigned(after, now, track="policy", policy_code=policy))
    # An event that happened before the publication but is handled after it keeps the old table.
    await feed(
        received(late_event, earlier), assigned(late_event, earlier, track="policy", policy_code=policy)
    )

    new = (await clocks_of(after))["handling", 1]
    assert (new.rule_version, new.limit_value, new.extensions_allowed, new.warn_ratio) == (
        body["version"],
        15,
        2,
        0.5,
    )
    assert new.due_date > old.due_date
    unchanged = (await clocks_of(before))["handling", 1]
    assert (unchanged.rule_version, unchanged.limit_value, unchanged.due_date, unchanged.warn_at) == (
        old.rule_version,
        10,
        old.due_date,
        old.warn_at,
    )
    raced = (await clocks_of(late_event))["handling", 1]
    assert (raced.rule_version, raced.limit_value) == (old.rule_version, 10)
    # Every other appeal is timed as before: the new table differs only in that row.
    other = (await clocks_of(after))["sign_off", 1]
    assert (other.rule_version, other.limit_value) == (body["version"], 1)

    # Replaying the same publication answers the stored version; anything else under it is refused.
    replay = await client.post(RULES, json=body, headers=city())
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (200, "true")
    assert_problem(
        await client.post(RULES, json={**body, "note": "改过"}, headers=city()), 409, "rule_version_exists"
    )
    # An edit of the version this one replaced is stale.
    stale = {**_with_policy_row(base, policy, working_days=12)}
    conflict = assert_problem(
        await client.post(RULES, json=stale, headers=city()), 409, "rule_version_conflict"
    )
    assert conflict["current_version"] == body["version"]
    assert (await client.get(f"{RULES}/{body['version']}")).json()["rules"] == version["rules"]
    assert_problem(await client.get(f"{RULES}/nope"), 404, "rule_set_not_found")


async def test_a_later_effective_time_schedules_the_version(client: httpx.AsyncClient) -> None:
    base = await _newest(client)
    policy = f"test_{uuid.uuid4().hex[:8]}"
    body = _with_policy_row(base, policy, working_days=20)
    body["effective_from"] = (utcnow() + timedelta(days=3650)).isoformat()
    published = await client.post(RULES, json=body, headers=city())
    assert published.status_code == 201, published.text
    try:
        assert published.json()["in_effect"] is False
        versions = (await client.get(RULES)).json()
        assert [v["version"] for v in versions if v["in_effect"]] == [base["version"]]
        # Nothing may take effect before what is already scheduled.
        sooner = _with_policy_row({**base, "version": body["version"]}, policy, working_days=21)
        assert_problem(await client.post(RULES, json=sooner, headers=city()), 422, "invalid_effective_from")
    finally:
        # Versions are never withdrawn through the API; this test removes its own, so that later
        # tests may publish versions effective now.
        async with session_scope() as session:
            await session.execute(delete(RuleSetRecord).where(RuleSetRecord.version == body["version"]))


class TestRefusals:
    async def test_only_city_staff_publish(self, client: httpx.AsyncClient) -> None:
        body = _with_policy_row(await _newest(client), "x", working_days=3)
        assert_problem(
            await client.post(RULES, json=body, headers=auth(staff("town_staff", "441900121000"))),
            403,
            "forbidden",
        )
        assert_problem(await client.post(RULES, json=body), 403, "staff_required")

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"rules": []}, "invalid_input"),
            ({"version": "bad version!"}, "invalid_input"),
            ({"warn_ratio": 1.5}, "invalid_input"),
            ({"max_extensions": 11}, "invalid_input"),
            ({"unknown": 1}, "invalid_input"),
            ({"effective_from": "2020-01-01T00:00:00+08:00"}, "invalid_effective_from"),
            ({"rules": [{"clock": "triage", "label": "分拣", "working_days": 1}]}, "invalid_rules"),
        ],
    )
    async def test_bad_tables(self, client: httpx.AsyncClient, change: dict[str, Any], code: str) -> None:
        body = {**_with_policy_row(await _newest(client), "x", working_days=3), **change}
        assert_problem(await client.post(RULES, json=body, headers=city()), 422, code)

    @pytest.mark.parametrize(
        "row",
        [
            {"clock": "handling", "label": "x", "working_days": 2, "months": 1},
            {"clock": "handling", "label": "x"},
            {"clock": "coffee", "label": "x", "working_days": 2},
            {"clock": "handling", "label": "x", "working_days": 0},
            {"clock": "handling", "label": "x", "working_days": 2, "policy_code": "Bad Code"},
        ],
    )
    async def test_bad_rows(self, client: httpx.AsyncClient, row: dict[str, Any]) -> None:
        base = await _newest(client)
        body = {**_with_policy_row(base, "x", working_days=3), "rules": [row, *base["rules"]]}
        assert_problem(await client.post(RULES, json=body, headers=city()), 422, "invalid_input")

    async def test_a_row_that_never_applies(self, client: httpx.AsyncClient) -> None:
        base = await _newest(client)
        shadowed = rule_to_row(DEFAULT_RULES.rules[0]) | {"label": "永远轮不到"}
        body = {**_with_policy_row(base, "x", working_days=3), "rules": [*base["rules"], shadowed]}
        problem = assert_problem(await client.post(RULES, json=body, headers=city()), 422, "invalid_rules")
        assert any("永远不会生效" in e for e in problem["errors"])
