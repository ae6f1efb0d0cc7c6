"""REST DTOs between the gateway and intake: one AppealDraft from any channel (DESIGN §4)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.notices import PublicNotice
from services.contracts.vocabulary import Channel as Channel
from services.contracts.vocabulary import EvaluationResult, Rating, Urgency

ReporterRole = Literal["resident", "inspector", "cadre", "station_worker", "department"]


class Reporter(BaseModel):
    """Who reported. Phone and ID number arrive normalised; intake encrypts them at rest."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=20, description="E.164")
    id_number: str | None = Field(default=None, max_length=18)
    openid: str | None = Field(default=None, max_length=64)
    hukou_local: bool | None = Field(default=None, description="户籍 or not")
    anonymous: bool = False
    confidential: bool = Field(
        default=False, description="保密: hide identity from the unit complained about"
    )
    role: ReporterRole = "resident"


class Location(BaseModel):
    """Where the matter is. Coordinates keep their datum; WeChat sends GCJ-02."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(default=None, max_length=300)
    town_code: str | None = None
    village_code: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    grid_code: str | None = Field(default=None, max_length=40)


class Attachment(BaseModel):
    """Stored by reference; type and size were checked by the gateway."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["photo", "voice", "document", "video"]
    uri: str = Field(max_length=500)
    media_type: str = Field(max_length=100)
    size_bytes: int = Field(ge=0)
    sha256: str | None = Field(default=None, max_length=64)


class AppealDraft(BaseModel):
    """One appeal as any channel delivers it, normalised by the gateway."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    channel_ref: str = Field(min_length=1, max_length=128)
    reported_at: datetime | None = None
    reporter: Reporter = Field(default_factory=Reporter)
    on_behalf_of: Reporter | None = None
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(min_length=1, max_length=20000)
    transcript: str | None = Field(default=None, max_length=100000)
    location: Location = Field(default_factory=Location)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    beneficiary_count: int | None = Field(default=None, ge=0)
    beneficiary_group: str | None = Field(default=None, max_length=50)
    help_requested: str | None = Field(default=None, max_length=2000)
    estimated_amount_fen: int | None = Field(default=None, ge=0)
    urgency: Urgency | None = None
    category_hint: str | None = Field(default=None, max_length=100)
    callback_requested: bool = False
    channel_extra: dict[str, Any] = Field(default_factory=dict)


class AppealAccepted(BaseModel):
    """What a channel tells the reporter: the ticket and the query code (查询码)."""

    appeal_id: UUID
    ticket_no: str
    query_code: str


class TimelineEntry(BaseModel):
    """One public step of an appeal."""

    at: datetime
    status: str
    description: str


class PublicDeadline(BaseModel):
    """A clock as the public sees it."""

    clock: str
    due_at: datetime | None
    due_date: date | None = None
    provisional: bool
    state: str


class PublicAppeal(BaseModel):
    """DESIGN §10 public status: no personal data."""

    ticket_no: str
    status: str
    kind: str | None
    category: str | None
    track: str | None
    town: str | None
    village: str | None = None
    received_at: datetime
    timeline: list[TimelineEntry]
    deadlines: list[PublicDeadline]
    duplicate_of: str | None = None
    # Additions (issue 16): the top-up beside a policy benefit, and the consultations' public
    # notices (公示: meeting, attendance, votes on the five points, notice period and outcome).
    secondary_track: str | None = None
    notices: list[PublicNotice] = Field(default_factory=list)


class WithdrawalIn(BaseModel):
    """撤回: the resident withdraws their own appeal before work starts, saying why if they wish."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class CodeEvaluation(BaseModel):
    """A resident's rating (满意度评价) with the appeal's ticket number and query code (查询码), for a
    resident without the mini-program: what the gateway sends intake for the public route."""

    model_config = ConfigDict(extra="forbid")

    ticket_no: str = Field(max_length=32)
    query_code: str = Field(max_length=32, description="查询码")
    round: int | None = Field(default=None, ge=1, le=50)
    result: EvaluationResult
    rating: Rating
    comment: str | None = Field(default=None, max_length=1000)


class CodeWithdrawal(WithdrawalIn):
    """撤回 with the appeal's ticket number and query code (查询码), for a caller without WeChat."""

    ticket_no: str = Field(max_length=32)
    query_code: str = Field(max_length=32, description="查询码")
