"""Outside one's scope an appeal does not exist (issue 15, low): every write that names an appeal
answers a member of staff who may not see it exactly as it answers for an id that was never
issued (`404`), never a `403` that confirms the appeal is there. (A role that may never call a
route is refused at the gateway's door, `403` for any id alike.)

The whole system in-process: gateway in front of the real services and their real workers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.auth import Principal
from tests.integration.security_support import (
    BEIZHA,
    CITY,
    HUMEN,
    OTHER_DEPARTMENT,
    OTHER_STATION_STAFF,
    OTHER_TOWN,
    OTHER_VILLAGE,
    PROBLEM,
    TOWN,
    VILLAGE,
    System,
    bearer,
    running_system,
    settle,
)

OUTSIDERS: dict[str, Principal] = {
    "other_town": OTHER_TOWN,
    "other_village": OTHER_VILLAGE,
    "other_department": OTHER_DEPARTMENT,
    "other_station": OTHER_STATION_STAFF,
}


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with running_system("10.8.0.41") as running:
        yield running


def _minutes(appeal_id: str) -> dict[str, Any]:
    yes = {"yes": 16, "no": 3, "abstain": 1}
    return {
        "appeal_id": appeal_id,
        "form": "residents_council",
        "held_at": datetime.now(UTC).isoformat(),
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "居民代表甲", "role": "居民代表"}],
        "necessity": "路灯损坏",
        "feasibility": "可行",
        "budget_fen": 100_000,
        "beneficiaries": {"count": 30, "group": "周边居民"},
        "implementer": "社区居委会",
        "votes": {p: yes for p in ("necessity", "feasibility", "budget", "beneficiaries", "implementer")},
        "track": "express",
        "holder_type": "village",
        "holder_code": BEIZHA,
    }


def _writes(appeal_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    A, R = f"/api/v1/staff/appeals/{appeal_id}", "/api/v1/routing"
    reason = {"reason": "越权测试"}
    return [
        ("POST", f"{R}/assignments/{appeal_id}/sign-off", {}),
        ("POST", f"{R}/assignments/{appeal_id}/return", {"reason_code": "other", "policy_basis": "越权测试"}),
        (
            "POST",
            f"{R}/triage/{appeal_id}/decision",
            {"unit_type": "town", "unit_code": HUMEN, "reason": "越权"},
        ),
        ("POST", f"{R}/triage/{appeal_id}/escalation", {"note": "越权"}),
        ("POST", f"{R}/triage/{appeal_id}/agenda", {"level": "town", "reason": "越权"}),
        ("POST", "/api/v1/consultations", _minutes(appeal_id)),
        ("POST", f"{A}/start", reason),
        ("POST", f"{A}/complete", reason),
        ("POST", f"{A}/reopen", reason),
        ("POST", f"{A}/withhold", reason),
        ("POST", f"{A}/publish", {}),
        ("POST", f"{A}/close", {"result": "resolved", "rating": "satisfied"}),
        ("PUT", f"{A}/complained-unit", {"unit_type": "village", "unit_code": BEIZHA}),
        ("POST", f"{A}/duplicates/undo", reason),
        ("PUT", f"/api/v1/donors/listings/{appeal_id}", {"target_fen": 10_000}),
    ]


async def test_writes_outside_the_scope_answer_as_for_an_unknown_appeal(system: System) -> None:
    gw = system.gateway
    body = {
        "description": f"北栅社区东方路{uuid.uuid4().hex[:6]}号路灯坏了，晚上很黑。",
        "submitter": {"name": "黄丽", "phone": "13800138000"},
        "location": {"town": HUMEN, "village_code": BEIZHA},
    }
    headers = {**bearer(TOWN), "Idempotency-Key": f"outside-{uuid.uuid4().hex}"}
    filed = await gw.post("/api/v1/channels/web-portal/appeals", json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    real = filed.json()["appeal_id"]
    await settle()
    unknown = str(uuid.uuid4())
    differ: list[str] = []
    for name, who in OUTSIDERS.items():
        for (method, path, payload), (_, unknown_path, unknown_payload) in zip(
            _writes(real), _writes(unknown), strict=True
        ):
            key = {"Idempotency-Key": f"outside-{uuid.uuid4().hex}"}
            r = await gw.request(method, path, json=payload, headers={**bearer(who), **key})
            u = await gw.request(method, unknown_path, json=unknown_payload, headers={**bearer(who), **key})
            seen = (
                r.status_code,
                r.json().get("code") if r.headers["content-type"].startswith(PROBLEM) else None,
            )
            never = (
                u.status_code,
                u.json().get("code") if u.headers["content-type"].startswith(PROBLEM) else None,
            )
            if seen != never:
                differ.append(f"{name} {method} {path.replace(real, '{id}')}: real {seen}, unknown {never}")
    assert differ == [], "\n".join(differ)


async def test_records_named_by_id_outside_the_scope_answer_as_unknown_ones(system: System) -> None:
    gw = system.gateway
    body = {
        "description": f"北栅社区南栅路{uuid.uuid4().hex[:6]}号路灯坏了，晚上很黑。",
        "submitter": {"name": "黄丽", "phone": "13800138000"},
        "location": {"town": HUMEN, "village_code": BEIZHA},
    }
    key = {"Idempotency-Key": f"outside-{uuid.uuid4().hex}"}
    filed = await gw.post("/api/v1/channels/web-portal/appeals", json=body, headers={**bearer(TOWN), **key})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()["appeal_id"]
    await settle()
    consulted = await gw.post(
        "/api/v1/consultations",
        json=_minutes(appeal),
        headers={**bearer(VILLAGE), "Idempotency-Key": f"outside-{uuid.uuid4().hex}"},
    )
    assert consulted.status_code == 201, consulted.text
    holder = {"holder_type": "village", "holder_code": BEIZHA}
    income = await gw.post(
        "/api/v1/ledger/income",
        json={"source_code": "village_collective", "holder": holder, "amount_fen": 50_000},
        headers={**bearer(CITY), "Idempotency-Key": f"outside-{uuid.uuid4().hex}"},
    )
    assert income.status_code == 201, income.text
    reserved = await gw.post(
        "/api/v1/ledger/reservations",
        json={
            "holder": holder,
            "payee": {"payee_type": "project", "payee_code": appeal},
            "amount_fen": 10_000,
        },
        headers={**bearer(VILLAGE), "Idempotency-Key": f"outside-{uuid.uuid4().hex}"},
    )
    assert reserved.status_code == 201, reserved.text

    def probes(
        consultation: str, reservation: str, entry: str
    ) -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("POST", f"/api/v1/consultations/{consultation}/objections", {"summary": "越权异议"}),
            ("POST", f"/api/v1/consultations/{consultation}/approval", {}),
            ("GET", f"/api/v1/ledger/reservations/{reservation}", None),
            ("POST", f"/api/v1/ledger/reservations/{reservation}/disbursements", {"amount_fen": 100}),
            ("POST", f"/api/v1/ledger/reservations/{reservation}/release", {}),
            ("GET", f"/api/v1/ledger/entries/{entry}", None),
        ]

    real = probes(consulted.json()["id"], reserved.json()["id"], income.json()["id"])
    unknown = probes(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    differ: list[str] = []
    for name, who in {"other_town": OTHER_TOWN, "other_village": OTHER_VILLAGE}.items():
        for (method, path, payload), (_, unknown_path, _) in zip(real, unknown, strict=True):
            extra = {"Idempotency-Key": f"outside-{uuid.uuid4().hex}"}
            r = await gw.request(method, path, json=payload, headers={**bearer(who), **extra})
            u = await gw.request(method, unknown_path, json=payload, headers={**bearer(who), **extra})
            if (r.status_code, r.json().get("code")) != (u.status_code, u.json().get("code")):
                differ.append(
                    f"{name} {method} {path}: real {r.status_code} {r.text[:120]}, unknown {u.status_code}"
                )
    assert differ == [], "\n".join(differ)
