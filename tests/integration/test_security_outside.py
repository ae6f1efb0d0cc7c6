"""Outside one's scope an appeal does not exist (issue 15, low): every write that names an appeal
answers a member of staff who may not see it exactly as it answers for an id that was never
issued (`404`), never a `403` that confirms the appeal is there. (A role that may never call a
route is refused at the gateway's door, `403` for any id alike.)

The whole system in-process: gateway in front of the real services and their real workers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

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
    Command,
    System,
    appeal_commands,
    bearer,
    consultation_commands,
    minutes,
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


# What a write names: the appeal itself, its routing hop, its plan, its listing for donors.
WRITES = (
    "sign-off",
    "return",
    "decision",
    "escalation",
    "agenda",
    "consultation",
    "start",
    "complete",
    "reopen",
    "withhold",
    "publish",
    "close",
    "complained-unit",
    "undo-merge",
    "listing",
)


def _writes(appeal_id: str) -> list[Command]:
    commands = appeal_commands(appeal_id, "越权测试")  # the listing with a whole, valid body
    return [commands[name] for name in WRITES]


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
        for (method, path, payload, _), (_, unknown_path, unknown_payload, _) in zip(
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
        json=minutes(appeal),
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

    def probes(consultation: str, reservation: str, entry: str) -> list[Command]:
        return [
            *consultation_commands(consultation).values(),
            Command("GET", f"/api/v1/ledger/reservations/{reservation}", None),
            Command("POST", f"/api/v1/ledger/reservations/{reservation}/disbursements", {"amount_fen": 100}),
            Command("POST", f"/api/v1/ledger/reservations/{reservation}/release", {}),
            Command("GET", f"/api/v1/ledger/entries/{entry}", None),
        ]

    real = probes(consulted.json()["id"], reserved.json()["id"], income.json()["id"])
    unknown = probes(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    differ: list[str] = []
    for name, who in {"other_town": OTHER_TOWN, "other_village": OTHER_VILLAGE}.items():
        for (method, path, payload, _), (_, unknown_path, _, _) in zip(real, unknown, strict=True):
            extra = {"Idempotency-Key": f"outside-{uuid.uuid4().hex}"}
            r = await gw.request(method, path, json=payload, headers={**bearer(who), **extra})
            u = await gw.request(method, unknown_path, json=payload, headers={**bearer(who), **extra})
            if (r.status_code, r.json().get("code")) != (u.status_code, u.json().get("code")):
                differ.append(
                    f"{name} {method} {path}: real {r.status_code} {r.text[:120]}, unknown {u.status_code}"
                )
    assert differ == [], "\n".join(differ)
