"""Query parameters of routing's public reads (`/api/v1/routing`, `/api/v1/donors`, `/api/v1/stations`)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from services.contracts.vocabulary import Kind


class QueueQuery(BaseModel):
    """Whose manual triage queue: a town's (city staff name it; town staff get their own)."""

    town_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    unsure: bool | None = Field(
        default=None,
        description="true: only appeals the model could not classify surely; false: only those it "
        "classified surely (waiting to be placed, sent back or escalated); absent: all",
    )
    limit: int = Field(default=100, ge=1, le=500)


class AgendaQuery(BaseModel):
    """Which joint meeting's agenda: a town's or the city's."""

    level: Literal["town", "city"]
    org_code: str = Field(max_length=32)


class AppealQuery(BaseModel):
    """The appeal asked about."""

    appeal_id: uuid.UUID


class StationQuery(BaseModel):
    """Stations by town, village and service offered."""

    town_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    village_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    service: str | None = Field(default=None, max_length=32)


class DonorQuery(BaseModel):
    """Donors of the pool in one state."""

    state: Literal["pending", "verified", "suspended"] | None = None


class ListingQuery(BaseModel):
    """Claimable appeals of the donor's pool."""

    kind: Kind | None = None
    category: str | None = Field(default=None, max_length=32)
    limit: int = Field(default=50, ge=1, le=200)
