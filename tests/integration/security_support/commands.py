"""Commands that name an appeal (or a record of one), with bodies that pass validation, so that
what answers them is the appeal's state or the caller's scope: the merged-appeal and the
outside-the-scope tests try the same commands against their appeals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from tests.integration.security_support.callers import BEIZHA, STATION_CODE

POINTS = ("necessity", "feasibility", "budget", "beneficiaries", "implementer")


class Command(NamedTuple):
    """One request (`body` None for a read); `keyed` when the route takes an `Idempotency-Key`."""

    method: str
    path: str
    body: dict[str, Any] | None
    keyed: bool = False


def minutes(appeal_id: str) -> dict[str, Any]:
    """A residents' council of 北栅社区 passing a street-light plan on every point (express track)."""
    yes = {"yes": 16, "no": 3, "abstain": 1}
    return {
        "appeal_id": appeal_id,
        "form": "residents_council",
        "held_at": datetime.now(UTC).isoformat(),
        "eligible_count": 25,
        "present_count": 20,
        "attendees": [{"name": "居民代表甲", "role": "居民代表"}],
        "necessity": "路灯损坏，夜间出行不安全",
        "feasibility": "利用原有杆件，施工一周",
        "budget_fen": 1_200_000,
        "beneficiaries": {"count": 300, "group": "周边居民"},
        "implementer": "北栅社区居委会",
        "votes": {p: yes for p in POINTS},
        "track": "express",
        "holder_type": "village",
        "holder_code": BEIZHA,
    }


def appeal_commands(appeal_id: str, reason: str) -> dict[str, Command]:
    """Every command on the appeal `appeal_id`, by name, `reason` given where one is asked for."""
    A, R = f"/api/v1/staff/appeals/{appeal_id}", "/api/v1/routing"
    why = {"reason": reason}
    money = {
        "holder": {"holder_type": "village", "holder_code": BEIZHA},
        "payee": {"payee_type": "project", "payee_code": appeal_id},
        "amount_fen": 100_000,
        "appeal_id": appeal_id,
    }
    return {
        "sign-off": Command("POST", f"{R}/assignments/{appeal_id}/sign-off", {}),
        "return": Command(
            "POST",
            f"{R}/assignments/{appeal_id}/return",
            {"reason_code": "not_our_remit", "policy_basis": "不属于本单位职责"},
        ),
        "decision": Command(
            "POST",
            f"{R}/triage/{appeal_id}/decision",
            {"unit_type": "village", "unit_code": BEIZHA, "reason": reason},
        ),
        "escalation": Command("POST", f"{R}/triage/{appeal_id}/escalation", {"note": reason}),
        "agenda": Command("POST", f"{R}/triage/{appeal_id}/agenda", {"level": "town", "reason": reason}),
        "consultation": Command("POST", "/api/v1/consultations", minutes(appeal_id), keyed=True),
        "station": Command(
            "POST",
            f"/api/v1/stations/{STATION_CODE}/assignments",
            {"appeal_id": appeal_id, "note": "派单"},
        ),
        "reservation": Command("POST", "/api/v1/ledger/reservations", money, keyed=True),
        "disbursement": Command("POST", "/api/v1/ledger/disbursements", money, keyed=True),
        **{
            c: Command("POST", f"{A}/{c}", why)
            for c in ("start", "complete", "hold", "reject", "withdraw", "reopen", "withhold")
        },
        "publish": Command("POST", f"{A}/publish", {}),
        "close": Command("POST", f"{A}/close", {"result": "resolved", "rating": "satisfied"}),
        "complained-unit": Command(
            "PUT", f"{A}/complained-unit", {"unit_type": "village", "unit_code": BEIZHA}
        ),
        "undo-merge": Command("POST", f"{A}/duplicates/undo", why),
        "listing": Command(
            "PUT",
            f"/api/v1/donors/listings/{appeal_id}",
            {"summary": "路灯维修，需要资金", "target_fen": 100_000},
        ),
    }


def consultation_commands(consultation_id: str) -> dict[str, Command]:
    """The commands on a consultation (议事) by its id: approving its plan, objecting to it."""
    path = f"/api/v1/consultations/{consultation_id}"
    return {
        "objection": Command("POST", f"{path}/objections", {"summary": "有居民反对"}),
        "approval": Command("POST", f"{path}/approval", {}),
    }
