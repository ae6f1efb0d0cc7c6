"""Intake follows a consultation's outcome: a rejection ends the appeal, with the reason in the
public timeline; an approval waits for plan.approved."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from services.common.queue import connect, queue_name
from services.contracts.events import ConsultationDecided, Event, PlanApproved, make_event
from tests.intake.projection_support import (
    VILLAGE,
    appeal_row,
    assigned,
    feed,
    new_appeal,
    timeline,
    triaged,
)


@pytest.fixture(autouse=True)
async def _empty_queue() -> AsyncIterator[None]:
    redis = await connect()
    try:
        await redis.delete(queue_name("intake"))
    finally:
        await redis.aclose()
    yield


def decided(
    appeal_id: uuid.UUID, outcome: Literal["approved", "rejected"], reason: str | None = None
) -> Event:
    data = ConsultationDecided(
        consultation_id=uuid.uuid4(),
        outcome=outcome,
        form="residents_council",
        unit_type="village",
        unit_code=VILLAGE,
        reason=reason,
        budget_fen=3_600_000,
    )
    return make_event("consultation.decided", "routing", data, appeal_id=appeal_id)


async def test_a_rejected_micro_project_is_closed_with_the_reason() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id), assigned(appeal_id, "consult"))
    assert (await appeal_row(appeal_id)).status == "consulting"
    reason = "协商未获到会人员过半数同意（未通过事项：预算）。"
    await feed(decided(appeal_id, "rejected", reason))
    appeal = await appeal_row(appeal_id)
    assert appeal.status == "rejected"
    last = (await timeline(appeal_id))[-1]
    assert (last.from_status, last.to_status, last.reason) == ("consulting", "rejected", reason)
    assert "居民议事会" in last.public_description and "预算" in last.public_description


async def test_an_approval_moves_the_appeal_with_its_plan() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id), assigned(appeal_id, "consult"))
    await feed(decided(appeal_id, "approved"))
    assert (await appeal_row(appeal_id)).status == "consulting"
    plan = PlanApproved(amount_fen=3_600_000, track="express", unit_type="village", unit_code=VILLAGE)
    await feed(make_event("plan.approved", "routing", plan, appeal_id=appeal_id))
    assert (await appeal_row(appeal_id)).status == "approved"
