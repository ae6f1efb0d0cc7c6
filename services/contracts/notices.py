"""Public notices (公示) of community consultations (DESIGN §10): the meeting, who came, the votes on
the five points (五议), the notice period and its outcome. No personal data: attendee names are
never published, and the plan's own words pass `services.common.public_text` before they leave
routing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from uuid import UUID

from pydantic import BaseModel, Field

NoticeState = Literal["no_quorum", "rejected", "notice", "objected", "approved", "cancelled"]
NOTICE_STATE_NAMES: Final[dict[str, str]] = {
    "no_quorum": "到会人数不足，会议决定无效",
    "rejected": "协商未通过",
    "notice": "协商通过，正在公示",
    "objected": "公示期间收到异议，重新协商",
    "approved": "公示期满无异议，方案已批准",
    # The appeal ended without the work (withdrawn, merged into another, not accepted).
    "cancelled": "诉求已终止，公示取消",
}
# The five points (五议) in the order a meeting decides them.
POINTS: Final[tuple[str, ...]] = ("necessity", "feasibility", "budget", "beneficiaries", "implementer")
POINT_NAMES: Final[dict[str, str]] = {
    "necessity": "必要性",
    "feasibility": "可行性",
    "budget": "预算",
    "beneficiaries": "受益对象",
    "implementer": "实施主体",
}
BODY_NAMES: Final[dict[str, str]] = {"assembly": "居民（村民）会议", "representatives": "代表会议"}


class NoticeMeeting(BaseModel):
    """The meeting: its form (居民议事会, 党群联席会议…), body and when it was held."""

    form: str
    form_name: str
    body: str
    body_name: str
    held_at: datetime
    unit: str | None = Field(description="the convening village or town")


class NoticeAttendance(BaseModel):
    """Who could come and who came (counts only)."""

    eligible_count: int
    present_count: int
    households_total: int | None
    households_present: int | None
    quorum_met: bool


class NoticeVote(BaseModel):
    """The count on one of the five points."""

    point: str
    name: str
    yes: int
    no: int
    abstain: int
    passed: bool


class NoticePlan(BaseModel):
    """The plan the meeting decided on."""

    necessity: str
    feasibility: str
    budget_fen: int
    beneficiary_count: int | None
    beneficiary_group: str | None
    beneficiary_description: str | None
    implementer: str
    track: str


class NoticePeriod(BaseModel):
    """公示期: when it runs, and how it ended (``running`` until its end)."""

    starts_at: datetime
    ends_at: datetime
    days: int
    objections: int
    outcome: Literal["running", "no_objection", "objected", "cancelled"]


class PublicNotice(BaseModel):
    """One consultation as the public sees it."""

    consultation_id: UUID
    ticket_no: str
    town: str | None
    village: str | None
    meeting: NoticeMeeting
    attendance: NoticeAttendance
    plan: NoticePlan
    votes: list[NoticeVote]
    state: NoticeState
    state_name: str
    reason: str | None
    notice: NoticePeriod | None
    decided_at: datetime | None
    updated_at: datetime


class NoticePage(BaseModel):
    """A page of notices, newest meeting first."""

    items: list[PublicNotice]
    page: int
    page_size: int
    total: int


class NoticeQuery(BaseModel):
    """Filters of the public notice list: ``current`` (notice running) or ``past``, place, ticket."""

    model_config = {"extra": "forbid"}

    period: Literal["current", "past"] | None = None
    town: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    village: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    ticket_no: str | None = Field(default=None, pattern=r"^MS\d{8,20}$")
    page: int = Field(default=1, ge=1, le=10000)
    page_size: int = Field(default=20, ge=1, le=100)


class ResidentObjectionIn(BaseModel):
    """A resident's objection (异议) during the notice, with the reason."""

    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=2, max_length=2000)


class ResidentObjectionCall(ResidentObjectionIn):
    """The objection as the gateway forwards it: who (a keyed hash of the openid) and the key."""

    resident_ref: str = Field(min_length=8, max_length=64)
    idempotency_key: str = Field(min_length=1, max_length=128)


class ObjectionReceipt(BaseModel):
    """What the resident is told: the objection is recorded, and the notice's state now."""

    objection_id: UUID
    consultation_id: UUID
    ticket_no: str
    state: NoticeState
    state_name: str
    recorded_at: datetime
