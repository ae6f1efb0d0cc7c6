"""Bulk import of the city's own registers (issue 16.12): villages and communities (村/社区),
service stations (莞家驿站) and donors of the 爱心资源库, from CSV or XLSX or as JSON rows.

An import is all or nothing: every row is checked first, and one bad row refuses the whole file
with each error named by row, column and a Chinese message. It is idempotent: a row equal to what
is stored changes nothing, a changed row updates it, a new one is created; nothing is deleted.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.routing.stations import TeamMember
from services.contracts.vocabulary import Category

ReferenceKind = Literal["villages", "stations", "donors"]
REFERENCE_KINDS: tuple[ReferenceKind, ...] = ("villages", "stations", "donors")
CODE_PATTERN = r"^4419\d{8}$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The row's number in the file it came from (its header is row 1), for error messages.
    line: int | None = Field(default=None, ge=1)


class VillageRow(_Row):
    """A village (村) or community (社区), in the shipped `villages.csv` columns."""

    code: str = Field(pattern=CODE_PATTERN, description="12-digit statistical division code")
    town_code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=50)
    type: Literal["community", "village"]
    aliases: list[str] = Field(default_factory=list, max_length=20)
    lat: float = Field(ge=22.6, le=23.2, description="approximate WGS-84 centroid")
    lng: float = Field(ge=113.5, le=114.3)
    grid_prefix: str = Field(min_length=1, max_length=40)


class StationRow(_Row):
    """A 莞家驿站: where it is, what it serves, who works there."""

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = Field(min_length=2, max_length=100)
    town_code: str = Field(pattern=CODE_PATTERN)
    village_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    services: list[Category] = Field(min_length=1, max_length=13)
    team: list[TeamMember] = Field(default_factory=list, max_length=200)
    active: bool = True


class DonorRow(_Row):
    """A donor of the city's or a town's 爱心资源库, keyed by the register's own number."""

    register_code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="the register's own number")
    kind: Literal["enterprise", "social_organisation", "individual"]
    name: str = Field(min_length=2, max_length=200)
    credit_code: str | None = Field(default=None, pattern=CREDIT_CODE_PATTERN)
    pool: Literal["city", "town"] = "city"
    town_code: str | None = Field(default=None, pattern=CODE_PATTERN)


class VillageImport(BaseModel):
    """Villages as JSON rows."""

    model_config = ConfigDict(extra="forbid")

    rows: list[VillageRow] = Field(min_length=1, max_length=5000)
    dry_run: bool = False


class StationImport(BaseModel):
    """Stations as JSON rows."""

    model_config = ConfigDict(extra="forbid")

    rows: list[StationRow] = Field(min_length=1, max_length=5000)
    dry_run: bool = False


class DonorImport(BaseModel):
    """Donors as JSON rows."""

    model_config = ConfigDict(extra="forbid")

    rows: list[DonorRow] = Field(min_length=1, max_length=5000)
    dry_run: bool = False


class RowError(BaseModel):
    """One problem in one row: its number (the header is row 1), the column, a Chinese message."""

    row: int
    column: str | None
    message: str


class IssuedKey(BaseModel):
    """The `X-Donor-Key` of a donor the import created: shown once, only its hash is kept."""

    register_code: str
    donor_id: uuid.UUID
    key: str


class ImportReport(BaseModel):
    """What an import did (or, with `dry_run`, would do)."""

    kind: ReferenceKind
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    issued_keys: list[IssuedKey] = Field(default_factory=list)
