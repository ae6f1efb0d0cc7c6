"""Intake's own request and response models (cross-service ones live in services.contracts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from intake.lifecycle import Status


class TransitionRequest(BaseModel):
    """A staff command moving an appeal (DESIGN §4)."""

    model_config = ConfigDict(extra="forbid")

    to: Status
    reason: str | None = Field(default=None, max_length=1000)


class ReporterView(BaseModel):
    """A reporter as staff see them: masked unless the role needs more."""

    relation: str
    name: str | None
    phone: str | None
    id_number: str | None
    anonymous: bool
    confidential: bool
    role: str


class StaffAppealView(BaseModel):
    """The appeal for the staff who may see it."""

    id: uuid.UUID
    ticket_no: str
    channel: str
    status: str
    kind: str | None
    category: str | None
    track: str | None
    urgency: str
    town_code: str | None
    village_code: str | None
    holder_type: str | None
    holder_code: str | None
    title: str | None
    description: str
    address: str | None
    received_at: datetime
    reporters: list[ReporterView]
