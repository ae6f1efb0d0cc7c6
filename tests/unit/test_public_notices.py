"""Pure pieces of issue 16: who may withdraw when, the secondary track's rules, and a consultation's
snapshot as the public reads it (votes passed by 过半数 of those present, the notice's outcome)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake.models import AppealNotice
from intake.service.lifecycle import STATUSES, resident_may_withdraw
from intake.service.notices import to_public
from routing.service.triage import _secondary
from services.common.errors import InvalidInput
from services.contracts.events import ConsultationChanged

BEFORE_WORK = {"received", "triaged", "consulting", "approved", "returned"}


@pytest.mark.parametrize("status", STATUSES)
def test_a_resident_withdraws_only_before_work_starts(status: str) -> None:
    assert resident_may_withdraw(status) is (status in BEFORE_WORK)  # type: ignore[arg-type]


def test_on_hold_withdrawal_depends_on_where_it_was_held_from() -> None:
    assert resident_may_withdraw("on_hold", "consulting")
    assert not resident_may_withdraw("on_hold", "in_progress")
    assert not resident_may_withdraw("on_hold", "reopened")
    assert not resident_may_withdraw("on_hold", None)


def test_a_secondary_track_belongs_beside_a_policy_track_only() -> None:
    assert _secondary(None, "direct", "policy") == "direct"
    assert _secondary("direct", None, "policy") == "direct"  # left out: kept
    assert _secondary("direct", "none", "policy") is None  # "none" clears it
    assert _secondary("express", None, "express") is None  # no longer policy: dropped
    with pytest.raises(InvalidInput):
        _secondary(None, "direct", "express")
    with pytest.raises(InvalidInput):
        _secondary(None, "station", "policy")


def snapshot(**override: Any) -> AppealNotice:
    ends = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    data = ConsultationChanged(
        consultation_id=uuid.uuid4(),
        ticket_no="MS2026120600000042",
        unit_type="village",
        unit_code="441900121001",
        town_code="441900121000",
        village_code="441900121001",
        form="party_masses_joint",
        body="representatives",
        held_at=ends - timedelta(days=6),
        eligible_count=30,
        present_count=21,
        quorum_met=True,
        necessity="路灯损坏",
        feasibility="一周可完成",
        budget_fen=100_000,
        beneficiary_count=300,
        beneficiary_group="东方路居民",
        implementer="社区居委会",
        track="express",
        # 11 of 21 is more than half; 10 of 21 is not, abstentions count against.
        votes={
            "necessity": {"yes": 11, "no": 10, "abstain": 0},
            "feasibility": {"yes": 10, "no": 5, "abstain": 6},
            "budget": {"yes": 21, "no": 0, "abstain": 0},
            "beneficiaries": {"yes": 20, "no": 1, "abstain": 0},
            "implementer": {"yes": 15, "no": 6, "abstain": 0},
        },
        state="notice",
        notice_days=5,
        notice_starts_at=ends - timedelta(days=5),
        notice_ends_at=ends,
    ).model_copy(update=override)
    return AppealNotice(
        consultation_id=data.consultation_id,
        appeal_id=uuid.uuid4(),
        state=data.state,
        held_at=data.held_at,
        notice_ends_at=data.notice_ends_at,
        data=data.model_dump(mode="json"),
        as_of=ends - timedelta(days=5),
    )


def test_the_public_reads_the_meeting_the_votes_and_the_period() -> None:
    notice = to_public(snapshot())
    assert (notice.meeting.form_name, notice.meeting.body_name, notice.meeting.unit) == (
        "党群联席会议",
        "代表会议",
        "北栅社区",
    )
    assert (notice.town, notice.village) == ("虎门", "北栅社区")
    assert [(v.point, v.passed) for v in notice.votes] == [
        ("necessity", True),
        ("feasibility", False),
        ("budget", True),
        ("beneficiaries", True),
        ("implementer", True),
    ]
    assert notice.notice is not None and (notice.notice.outcome, notice.notice.days) == ("running", 5)
    assert notice.state_name == "协商通过，正在公示"


def test_the_outcome_of_the_notice_follows_the_state() -> None:
    approved = to_public(snapshot(state="approved"))
    objected = to_public(snapshot(state="objected", objections=2))
    assert approved.notice is not None and approved.notice.outcome == "no_objection"
    assert objected.notice is not None and (objected.notice.outcome, objected.notice.objections) == (
        "objected",
        2,
    )
    cancelled = to_public(snapshot(state="cancelled"))
    assert cancelled.notice is not None and cancelled.notice.outcome == "cancelled"
    assert cancelled.state_name == "诉求已终止，公示取消"
    no_quorum = to_public(
        snapshot(state="no_quorum", quorum_met=False, notice_ends_at=None, notice_starts_at=None)
    )
    assert no_quorum.notice is None and not any(v.passed for v in no_quorum.votes)
