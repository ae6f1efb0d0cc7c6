"""Hops, sign-off, send-back and joint meetings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.vocabulary import UnitType as UnitType


class AssignmentView(BaseModel):
    """One hop."""

    model_config = ConfigDict(from_attributes=True)

    appeal_id: uuid.UUID
    hop: int
    unit_type: str
    unit_code: str
    purpose: str
    state: str
    assigned_at: datetime
    signed_off_at: datetime | None
    returned_at: datetime | None = None
    reason_code: str | None = None
    policy_basis: str | None = None
    track: str | None = None
    policy_code: str | None = None
    binding: bool = False
    decided_by: str | None = None
    assisting_units: list[dict[str, Any]] = Field(default_factory=list)
    note: str | None = None


class SendBack(BaseModel):
    """退单 request: a reason code and the policy basis are both required."""

    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(min_length=1, max_length=32)
    policy_basis: str = Field(min_length=2, max_length=1000)


class Unit(BaseModel):
    """A unit by type and code."""

    model_config = ConfigDict(extra="forbid")

    unit_type: UnitType
    unit_code: str = Field(min_length=1, max_length=32)


class AgendaIn(BaseModel):
    """Put a case on the town's or the city's joint meeting agenda."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["town", "city"]
    reason: str = Field(min_length=2, max_length=2000)


class AgendaItemView(BaseModel):
    """A case on a joint meeting's agenda."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appeal_id: uuid.UUID
    level: str
    org_code: str
    reason: str
    state: str
    submitted_by: str
    submitted_at: datetime
    meeting_id: uuid.UUID | None
    lead_unit_type: str | None
    lead_unit_code: str | None
    assisting_units: list[dict[str, Any]]
    decision: str | None
    decided_at: datetime | None


class MeetingIn(BaseModel):
    """A joint meeting (联席会议) of a town or the city."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["town", "city"]
    org_code: str = Field(min_length=4, max_length=32)
    title: str = Field(min_length=2, max_length=200)
    held_on: date


class MeetingView(BaseModel):
    """A joint meeting."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    level: str
    org_code: str
    title: str
    held_on: date
    created_by: str


class MeetingDecisionIn(BaseModel):
    """The meeting's decision on one case: the lead unit and those assisting."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: uuid.UUID
    lead: Unit
    assisting: list[Unit] = Field(default_factory=list, max_length=16)
    decision: str = Field(min_length=2, max_length=2000)
