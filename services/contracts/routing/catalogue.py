"""The policy catalogue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.vocabulary import Kind


class PolicyView(BaseModel):
    """One policy as a catalogue version has it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    department: str
    kind: str
    category: str
    eligibility: str
    materials: list[str]
    time_limit_working_days: int
    keywords: list[str]
    aliases: list[str]


class CatalogueView(BaseModel):
    """A catalogue version with its policies."""

    version: str
    created_at: datetime | None = None
    created_by: str | None = None
    note: str | None = None
    departments: dict[str, str]
    policies: list[PolicyView]


class VersionView(BaseModel):
    """A version in the catalogue's history."""

    version: str
    based_on: str | None
    created_at: datetime
    created_by: str
    note: str | None
    policies: int


class PolicyIn(BaseModel):
    """Create or change a policy; every change makes a new catalogue version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    department: str = Field(min_length=2, max_length=32)
    kind: Kind
    category: str = Field(min_length=2, max_length=32)
    eligibility: str = Field(min_length=2, max_length=2000)
    materials: list[str] = Field(min_length=1, max_length=30)
    time_limit_working_days: int = Field(ge=1, le=60)
    keywords: list[str] = Field(min_length=1, max_length=60)
    aliases: list[str] = Field(default_factory=list, max_length=30)
    base_version: str | None = Field(default=None, description="the version edited; refused if stale")
    note: str | None = Field(default=None, max_length=500)


class RetireIn(BaseModel):
    """Take a policy out of the catalogue."""

    model_config = ConfigDict(extra="forbid")

    base_version: str | None = None
    note: str | None = Field(default=None, max_length=500)
