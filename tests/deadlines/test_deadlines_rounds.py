"""Policy clocks and rounds (issue 16.4, 16.7): events through the real worker into clocks.

A policy referral's handling clock runs for the catalogue's time limit (最低生活保障: 30 working
days); a rating meets the round's feedback clock; a reopened round gets its own handling clock,
and its completion its own feedback clock.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from deadlines.models import Clock
from deadlines.service import clocks as service
from deadlines.service.rules import DEFAULT_RULES, Limit, with_catalogue_limit
from deadlines.service.sweep import sweep_once
from services.common.db import session_scope
from services.contracts.deadlines import RuleIn
from services.contracts.events import (
    AppealAssigned,
    AppealCompleted,
    AppealEvaluated,
    AppealReopened,
    AppealSignedOff,
    Event,
    Generic,
)
from tests.deadlines.support import (
    VILLAGE,
    announced,
    assigned,
    clocks_of,
    event,
    feed,
    local,
    received,
    triaged,
)
from tests.fixtures import drain, enqueue


def _policy_assigned(appeal_id: uuid.UUID, at: datetime, days: int | None, urgency: str = "normal") -> Event:
    data = AppealAssigned.model_validate(
        {
            "unit_type": "department",
            "unit_code": "civil_affairs",
            "purpose": "handle",
            "kind": "micro_wish",
            "urgency": urgency,
            "track": "policy",
            "policy_code": "civil_affairs.dibao",
            "hop": 1,
            "policy_time_limit_working_days": days,
        }
    )
    return event("appeal.assigned", data, appeal_id, at)


async def test_a_policy_referral_runs_for_the_catalogues_time_limit() -> None:
    appeal_id = uuid.uuid4()
    start = local(2025, 11, 3)  # a Monday, no holiday for the next six weeks
    await feed(received(appeal_id, start), triaged(appeal_id, start, track="policy"))
    await feed(_policy_assigned(appeal_id, start, 30))
    handling = (await clocks_of(appeal_id))["handling", 1]
    # 30 working days after Monday Nov 3: six full weeks, Friday Dec 15.
    assert (handling.limit_kind, handling.limit_value) == ("working_days", 30)
    assert handling.due_date == date(2025, 12, 15)


async def test_without_a_catalogue_limit_the_table_default_applies() -> None:
    appeal_id = uuid.uuid4()
    start = local(2025, 11, 3)
    await feed(received(appeal_id, start), triaged(appeal_id, start, track="policy"))
    await feed(_policy_assigned(appeal_id, start, None))
    handling = (await clocks_of(appeal_id))["handling", 1]
    assert (handling.limit_value, handling.due_date) == (10, date(2025, 11, 17))


async def test_an_emergency_keeps_its_five_days_whatever_policy_carries_it() -> None:
    appeal_id = uuid.uuid4()
    start = local(2025, 11, 3)
    await feed(received(appeal_id, start), triaged(appeal_id, start, urgency="emergency", track="policy"))
    await feed(_policy_assigned(appeal_id, start, 30, urgency="emergency"))
    assert (await clocks_of(appeal_id))["handling", 1].limit_value == 5


def test_a_rule_naming_the_policy_wins_over_the_catalogue() -> None:
    generic = DEFAULT_RULES.rule_for("handling", kind="micro_wish", urgency="normal", track="policy")
    assert generic is not None and generic.limit == Limit.working_days(10)
    assert with_catalogue_limit(generic, "civil_affairs.dibao", 30).limit == Limit.working_days(30)
    named = DEFAULT_RULES.with_policy_limits("t1", {"civil_affairs.dibao": Limit.working_days(20)})
    rule = named.rule_for(
        "handling", kind="micro_wish", urgency="normal", track="policy", policy_code="civil_affairs.dibao"
    )
    assert rule is not None and with_catalogue_limit(rule, "civil_affairs.dibao", 30).limit.value == 20
    # Not a policy referral: untouched.
    express = DEFAULT_RULES.rule_for("handling", kind="micro_wish", urgency="normal", track="express")
    assert express is not None and with_catalogue_limit(express, "x.y", 30) is express


def test_a_rule_may_name_a_catalogue_policy_code() -> None:
    rule = RuleIn.model_validate(
        {"clock": "handling", "label": "低保审批", "working_days": 30, "policy_code": "civil_affairs.dibao"}
    )
    assert rule.policy_code == "civil_affairs.dibao"
    for bad in ("Civil.Dibao", "civil_affairs.", ".dibao", "a..b", "低保"):
        try:
            RuleIn.model_validate({"clock": "handling", "label": "x", "working_days": 3, "policy_code": bad})
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


async def test_a_rating_meets_feedback_and_a_reopened_round_gets_its_own_clocks() -> None:
    appeal_id = uuid.uuid4()
    start = local(2025, 11, 3)
    await feed(received(appeal_id, start), triaged(appeal_id, start))
    await feed(assigned(appeal_id, start))
    signed = AppealSignedOff(unit_type="village", unit_code=VILLAGE, hop=1)
    await feed(event("appeal.signed_off", signed, appeal_id, local(2025, 11, 3, 15)))
    await feed(event("appeal.completed", AppealCompleted(round=1), appeal_id, local(2025, 11, 5)))
    rated = AppealEvaluated(round=1, result="not", rating="dissatisfied")
    await feed(event("appeal.evaluated", rated, appeal_id, local(2025, 11, 5, 15)))
    clocks = await clocks_of(appeal_id)
    first_feedback = next(c for c in clocks.values() if c.clock == "feedback")
    assert (first_feedback.round, first_feedback.state) == (1, "met")
    assert first_feedback.met_at == local(2025, 11, 5, 15)

    await feed(event("appeal.reopened", AppealReopened(round=2), appeal_id, local(2025, 11, 6)))
    rounds = await _by_round(appeal_id)
    redo, first = rounds["handling", 2], rounds["handling", 1]
    assert first.state == "met"
    assert (redo.state, redo.unit_code, redo.hop, redo.limit_value) == ("running", VILLAGE, 1, 10)
    assert redo.started_at == local(2025, 11, 6)
    assert redo.due_date == date(2025, 11, 20)  # 10 working days after Thursday Nov 6

    # Time passes (an injected clock): round 1's rated feedback clock never goes overdue; the
    # redone round's handling clock does, after its own deadline.
    await sweep_once(now=local(2025, 11, 21, 1))
    swept = await _by_round(appeal_id)
    assert (swept["feedback", 1].state, swept["handling", 2].state) == ("met", "overdue")
    overdue = [d["clock"] for t, d in await announced(appeal_id=appeal_id) if t == "deadline.overdue"]
    assert overdue == ["handling"]

    # A replay of the reopening starts nothing more.
    await feed(event("appeal.reopened", AppealReopened(round=2), appeal_id, local(2025, 11, 6)))
    await feed(event("appeal.completed", AppealCompleted(round=2), appeal_id, local(2025, 11, 10)))
    after = await _by_round(appeal_id)
    assert after["handling", 2].state == "met" and after["handling", 2].met_at == local(2025, 11, 10)
    assert (after["feedback", 2].state, after["feedback", 2].due_date) == ("running", date(2025, 11, 11))
    await feed(event("appeal.closed", Generic(), appeal_id, local(2025, 11, 11)))
    assert (await _by_round(appeal_id))["feedback", 2].state == "met"

    started = [d["clock"] for t, d in await announced(appeal_id=appeal_id) if t == "deadline.started"]
    assert started.count("handling") == 2 and started.count("feedback") == 2


async def test_a_rating_waits_for_the_completion_it_rates() -> None:
    appeal_id = uuid.uuid4()
    start = local(2025, 11, 3)
    await feed(received(appeal_id, start), triaged(appeal_id, start), assigned(appeal_id, start))
    rated = AppealEvaluated(round=1, result="resolved", rating="satisfied")
    # Rated first, completed after: the worker retries the rating until the clock exists.
    await enqueue(
        "deadlines",
        event("appeal.evaluated", rated, appeal_id, local(2025, 11, 4, 15)),
        event("appeal.completed", AppealCompleted(round=1), appeal_id, local(2025, 11, 4)),
    )
    await drain("deadlines")
    feedback = (await _by_round(appeal_id))["feedback", 1]
    assert (feedback.state, feedback.met_at) == ("met", local(2025, 11, 4, 15))


async def _by_round(appeal_id: uuid.UUID) -> dict[tuple[str, int], Clock]:
    async with session_scope() as session:
        return {(c.clock, c.round): c for c in await service.clocks_of(session, appeal_id)}
