"""莞家驿站 stations and service records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TeamMember(BaseModel):
    """A social organisation, social worker or volunteer (group) on a station's team."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["social_organisation", "social_worker", "volunteer"]
    name: str = Field(min_length=1, max_length=100)
    count: int = Field(default=1, ge=1, le=10_000)


class StationIn(BaseModel):
    """Register or change a station."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    town_code: str = Field(pattern=r"^4419\d{8}$")
    village_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")
    services: list[str] = Field(min_length=1, max_length=13)
    team: list[TeamMember] = Field(default_factory=list, max_length=200)
    active: bool = True


class StationView(BaseModel):
    """A station."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    town_code: str
    village_code: str | None
    services: list[str]
    team: list[dict[str, Any]]
    active: bool


class DispatchIn(BaseModel):
    """Send a station-track appeal to this station."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: uuid.UUID
    note: str | None = Field(default=None, max_length=500)


class ServiceRecordIn(BaseModel):
    """A visit or session the station gave."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: uuid.UUID
    served_on: date
    visits: int = Field(default=1, ge=1, le=100)
    minutes: int = Field(ge=1, le=1440)
    description: str = Field(min_length=2, max_length=2000)
    workers: list[TeamMember] = Field(default_factory=list, max_length=50)


class ServiceRecordView(BaseModel):
    """A service record and its confirmation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appeal_id: uuid.UUID
    station_code: str
    served_on: date
    visits: int
    minutes: int
    description: str
    state: str
    recorded_at: datetime
    confirmed_at: datetime | None
    confirmed_by_kind: str | None


class ConfirmationIn(BaseModel):
    """A confirmation: by staff (their token), or by the beneficiary (the gateway checked the
    ticket number and query code and passes the ticket number)."""

    model_config = ConfigDict(extra="forbid")

    ticket_no: str | None = Field(default=None, max_length=32)


class StationTotals(BaseModel):
    """A station's confirmed work."""

    visits: int
    minutes: int
    records: int


class BeneficiaryProof(BaseModel):
    """The appeal's ticket number and query code (查询码): what only its reporter holds. A beneficiary
    confirms a service or a donor's help with it."""

    model_config = ConfigDict(extra="forbid")

    ticket_no: str = Field(max_length=32)
    query_code: str = Field(max_length=32)
