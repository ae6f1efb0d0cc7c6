"""Routing's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TriageView(BaseModel):
    """A triage result with its explanations."""

    model_config = ConfigDict(from_attributes=True)

    appeal_id: uuid.UUID
    kind: str
    category: str
    urgency: str
    track: str
    department: str | None
    town_code: str | None
    village_code: str | None
    location_method: str
    policy_codes: list[str]
    confidence: float
    needs_manual: bool
    explanations: list[dict[str, Any]]
    catalogue_version: str


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


class SendBack(BaseModel):
    """退单 request: a reason code and the policy basis are both required."""

    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(min_length=1, max_length=32)
    policy_basis: str = Field(min_length=2, max_length=1000)
