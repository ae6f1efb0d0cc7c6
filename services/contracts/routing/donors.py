"""Donors, the pool of claimable appeals, and claims."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DonorIn(BaseModel):
    """Join the 爱心资源库 (verified by staff before claiming)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["enterprise", "social_organisation", "individual"]
    name: str = Field(min_length=2, max_length=200)
    credit_code: str | None = Field(
        default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
    )
    pool: Literal["city", "town"] = "city"
    town_code: str | None = Field(default=None, pattern=r"^4419\d{8}$")


class DonorView(BaseModel):
    """A donor (no key)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    name: str
    pool: str
    town_code: str | None
    state: str
    verified_at: datetime | None
    created_at: datetime


class DonorCreated(BaseModel):
    """The new donor and their key (shown once: send it as ``X-Donor-Key``)."""

    donor: DonorView
    key: str


class DonorStateIn(BaseModel):
    """Verify or suspend a donor."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["verified", "suspended"]


class ListingIn(BaseModel):
    """Publish an appeal to the pool: anonymised words, the sum, and/or the service needed."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=4, max_length=500)
    target_fen: int | None = Field(default=None, gt=0, le=10_000_000_000)
    needs_service: str | None = Field(default=None, max_length=500)


class ListingView(BaseModel):
    """A claimable appeal as donors see it: no names, no ticket, no address."""

    model_config = ConfigDict(from_attributes=True)

    appeal_id: uuid.UUID
    kind: str
    category: str
    town_code: str | None
    summary: str
    needs_service: str | None
    target_fen: int | None
    pledged_fen: int
    confirmed_fen: int
    exclusive: bool
    state: str


class ClaimIn(BaseModel):
    """认领: money in fen (all or part of what is still needed), or a service."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: uuid.UUID
    kind: Literal["money", "service"]
    amount_fen: int | None = Field(default=None, gt=0, le=10_000_000_000)
    service: str | None = Field(default=None, max_length=1000)
    note: str | None = Field(default=None, max_length=500)


class ClaimView(BaseModel):
    """A claim."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appeal_id: uuid.UUID
    donor_id: uuid.UUID
    kind: str
    amount_fen: int | None
    service: str | None
    state: str
    pledged_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None
    confirmed_by_kind: str | None


class ReportView(BaseModel):
    """A donor's completion report."""

    model_config = ConfigDict(extra="allow")

    report_no: str
    claim_id: str
    kind: str
    amount_fen: int | None
    appeal: dict[str, Any]
    confirmed_at: str | None
    confirmed_by: str | None
    text: str
