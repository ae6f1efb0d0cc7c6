"""Routing's hops and sign-offs heard by intake in any order: the work still starts, an older hop
never takes the appeal back."""

from __future__ import annotations

import pytest

from services.contracts.events import HANDOVER_REASON, AppealAssigned, AppealReturned, make_event
from tests.intake.projection_support import (
    TOWN,
    VILLAGE,
    appeal_row,
    assigned,
    feed,
    new_appeal,
    plan_approved,
    signed_off,
    timeline,
    triaged,
)
from tests.intake.projection_support import _empty_queue as _empty_queue  # each test on an empty queue


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("signed_off", "assigned", "approved"), id="sign-off before its hop"),
        pytest.param(("assigned", "signed_off", "approved"), id="sign-off before the plan's approval"),
    ],
)
async def test_the_plans_hop_signed_off_early_still_starts_the_work(order: tuple[str, ...]) -> None:
    """The village consulted (hop 1) and carries out the approved plan (hop 2, signed off at once by
    routing): whatever order routing's events reach intake in, the work starts (签收 → 办理中),
    never an appeal left approved that no one can start."""
    appeal_id, _, _ = await new_appeal("北栅社区东方路想加装一段无障碍坡道，方便轮椅出入")
    await feed(triaged(appeal_id), assigned(appeal_id, "consult"), signed_off(appeal_id))
    assert (await appeal_row(appeal_id)).status == "consulting"
    events = {
        "signed_off": signed_off(appeal_id, hop=2),
        "assigned": assigned(appeal_id, "handle", hop=2),
        "approved": plan_approved(appeal_id),
    }
    await feed(*(events[name] for name in order))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_hop) == ("in_progress", 2)
    assert [t.to_status for t in await timeline(appeal_id)][-2:] == ["approved", "in_progress"]


async def test_an_older_hops_assignment_arriving_late_does_not_take_the_appeal_back() -> None:
    """The town handed the appeal on (hop 2) right after hop 1; intake hears of hop 2 first: the
    appeal stays with hop 2's unit, not the one that gave it up."""
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id))
    newer = AppealAssigned(
        unit_type="town", unit_code=TOWN, purpose="handle", kind="micro_project", urgency="normal",
        track="express", hop=2,
    )  # fmt: skip
    await feed(make_event("appeal.assigned", "routing", newer, appeal_id=appeal_id))
    await feed(assigned(appeal_id, "handle", hop=1))
    appeal = await appeal_row(appeal_id)
    assert (appeal.holder_type, appeal.holder_code, appeal.holder_hop) == ("town", TOWN, 2)


async def test_a_hand_overs_take_back_heard_after_the_new_hop_changes_nothing() -> None:
    appeal_id, _, _ = await new_appeal()
    await feed(triaged(appeal_id), assigned(appeal_id, "handle"))
    newer = AppealAssigned(
        unit_type="town", unit_code=TOWN, purpose="handle", kind="micro_project", urgency="normal",
        track="express", hop=2,
    )  # fmt: skip
    await feed(make_event("appeal.assigned", "routing", newer, appeal_id=appeal_id))
    took_back = AppealReturned(
        unit_type="village", unit_code=VILLAGE, reason_code=HANDOVER_REASON, policy_basis="镇街改派", hop=1
    )
    await feed(make_event("appeal.returned", "routing", took_back, appeal_id=appeal_id))
    appeal = await appeal_row(appeal_id)
    assert (appeal.status, appeal.holder_code, appeal.returns_count) == ("approved", TOWN, 0)
