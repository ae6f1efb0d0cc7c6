"""Community consultations on micro-projects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.vocabulary import ConsultationForm


class VoteIn(BaseModel):
    """The count on one of the five points."""

    model_config = ConfigDict(extra="forbid")

    yes: int = Field(ge=0)
    no: int = Field(ge=0)
    abstain: int = Field(default=0, ge=0)


class Votes(BaseModel):
    """Votes on the five points (五议)."""

    model_config = ConfigDict(extra="forbid")

    necessity: VoteIn
    feasibility: VoteIn
    budget: VoteIn
    beneficiaries: VoteIn
    implementer: VoteIn


class Attendee(BaseModel):
    """Someone at the meeting (minutes, not published)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    role: str = Field(default="resident", max_length=30)


class Beneficiaries(BaseModel):
    """Who benefits."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1)
    group: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class ConsultationIn(BaseModel):
    """A meeting's minutes: form, attendance, the five points, votes, and the plan if approved."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: uuid.UUID
    form: ConsultationForm
    body: Literal["assembly", "representatives"] | None = Field(
        default=None, description="defaults by form: councils and joint meetings are representatives' bodies"
    )
    held_at: datetime
    eligible_count: int = Field(ge=1, le=1_000_000)
    present_count: int = Field(ge=0, le=1_000_000)
    households_total: int | None = Field(default=None, ge=1)
    households_present: int | None = Field(default=None, ge=0)
    attendees: list[Attendee] = Field(default_factory=list, max_length=2000)
    necessity: str = Field(min_length=2, max_length=2000)
    feasibility: str = Field(min_length=2, max_length=2000)
    budget_fen: int = Field(ge=0, le=10_000_000_000)
    beneficiaries: Beneficiaries
    implementer: str = Field(min_length=2, max_length=200)
    votes: Votes
    track: Literal["express", "direct", "station", "policy"] = "express"
    holder_type: Literal["village", "town", "department", "station"]
    holder_code: str = Field(min_length=2, max_length=32)
    notice_days: int | None = Field(default=None, ge=1, le=30)


class ObjectionIn(BaseModel):
    """An objection raised during the public notice."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=2, max_length=2000)


class ConsultationView(BaseModel):
    """A consultation and its outcome (attendee names are omitted)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appeal_id: uuid.UUID
    org_type: str
    org_code: str
    form: str
    body: str
    held_at: datetime
    eligible_count: int
    present_count: int
    households_total: int | None
    households_present: int | None
    necessity: str
    feasibility: str
    budget_fen: int
    beneficiaries: dict[str, Any]
    implementer: str
    votes: dict[str, Any]
    track: str
    holder_type: str
    holder_code: str
    quorum_met: bool
    passed: bool
    state: str
    reason: str | None
    notice_days: int
    notice_ends_at: datetime | None
    decided_at: datetime | None
