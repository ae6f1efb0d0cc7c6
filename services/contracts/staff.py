"""The staff side of an appeal (`/api/v1/staff/...`): commands, views, duplicates, reveals, archive.

Intake answers these shapes; the gateway validates the commands with them before forwarding and
declares the answers in `/openapi.json`. This is their one definition: intake re-exports them from
`intake.schemas` (issue 13).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.appeals import PublicDeadline, TimelineEntry
from services.contracts.vocabulary import EvaluationResult as EvaluationResult
from services.contracts.vocabulary import Rating as Rating
from services.contracts.vocabulary import Status as Status

RevealField = Literal["phone", "id_number", "name", "quoted_phone", "quoted_id_number"]


class Reason(BaseModel):
    """Why: required for some commands, always written to the timeline."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class Moved(BaseModel):
    """The appeal after a command."""

    status: str
    ticket_no: str
    round: int = 1


class TransitionRequest(BaseModel):
    """A staff command moving an appeal (DESIGN §4)."""

    model_config = ConfigDict(extra="forbid")

    to: Status
    reason: str | None = Field(default=None, max_length=1000)


class CloseRequest(BaseModel):
    """The return visit (回访) recorded by staff: the result and the resident's rating."""

    model_config = ConfigDict(extra="forbid")

    result: EvaluationResult
    rating: Rating
    comment: str | None = Field(default=None, max_length=2000)
    round: int | None = None


class ComplainedUnit(BaseModel):
    """The unit the appeal complains about (保密 hides a confidential reporter from it)."""

    model_config = ConfigDict(extra="forbid")

    unit_type: Literal["town", "village", "department", "station"] | None
    unit_code: str | None = Field(default=None, max_length=32)


class StaffTimelineEntry(BaseModel):
    """A timeline entry with who and why."""

    at: datetime
    from_status: str | None
    to_status: str
    round: int
    actor: str
    reason: str | None
    description: str
    public: bool


class RevealRequest(BaseModel):
    """What to reveal and why (the reason is kept in the audit)."""

    model_config = ConfigDict(extra="forbid")

    relation: Literal["reporter", "on_behalf_of"] = "reporter"
    field: RevealField
    # For a quoted number: which one of its kind, in order of appearance (the staff view lists them).
    index: int = Field(default=1, ge=1, le=1000)
    reason: str = Field(min_length=2, max_length=500)


class ReporterView(BaseModel):
    """A reporter as staff see them: masked, or hidden."""

    relation: str
    name: str | None
    phone: str | None
    id_number: str | None
    anonymous: bool
    confidential: bool
    role: str
    hidden: bool = False


class Revealed(BaseModel):
    """The answer of a reveal (`relation` is `text` for a number quoted in the words)."""

    relation: str
    field: RevealField
    value: str | None
    index: int | None = None


class QuotedNumberView(BaseModel):
    """A number written in the appeal's words, as staff see it: masked, with the index to reveal it."""

    kind: Literal["phone", "id_number"]
    index: int
    masked: str


class AuditEntry(BaseModel):
    """One audited reveal."""

    at: datetime
    actor: str
    actor_role: str | None
    actor_org: str | None
    appeal_id: uuid.UUID
    fields: str
    reason: str


class StaffAppealView(BaseModel):
    """The appeal for the staff who may see it; reporters as their role may see them."""

    id: uuid.UUID
    ticket_no: str
    channel: str
    status: str
    held_from: str | None = None
    kind: str | None
    category: str | None
    track: str | None
    secondary_track: str | None = None  # 政策 + top-up: express or direct beside a policy track
    urgency: str
    town_code: str | None
    village_code: str | None
    holder_type: str | None
    holder_code: str | None
    title: str | None
    description: str
    address: str | None
    received_at: datetime
    round: int = 1
    returns_count: int = 0
    duplicate_of: str | None = None
    repeat_of: str | None = None
    withheld: bool = False
    withheld_reason: str | None = None
    complained_unit: str | None = None
    evaluation_due_at: datetime | None = None
    reporters: list[ReporterView]
    # Numbers written in the words (masked there too); revealed by `index` through `.../reveal`.
    quoted_numbers: list[QuotedNumberView] = []


class DuplicateView(BaseModel):
    """One candidate or link, seen from the appeal asked about."""

    appeal_id: uuid.UUID
    ticket_no: str
    status: str
    role: str = Field(description="master (this appeal may duplicate it) | duplicate (it may duplicate this)")
    state: str = Field(description="suggested | linked | rejected | undone")
    score: float
    reasons: list[str]
    auto: bool
    repeat: bool
    decided_by: str | None
    decided_at: datetime | None


# -- the archive (归档) -----------------------------------------------------------------------------


class ArchiveHolder(BaseModel):
    """The unit that held the appeal last."""

    type: str | None
    code: str | None


class ArchiveReporter(BaseModel):
    """A reporter in the archive: masked, a confidential or anonymous one unnamed."""

    relation: str
    role: str
    name: str | None
    phone: str | None
    id_number: str | None
    anonymous: bool
    confidential: bool
    hukou_local: bool | None


class ArchiveStep(BaseModel):
    """One timeline entry with who and why."""

    model_config = ConfigDict(populate_by_name=True)

    at: datetime | None
    from_: str | None = Field(alias="from")
    to: str
    round: int
    actor: str
    reason: str | None
    description: str | None
    public: bool


class ArchiveAttachment(BaseModel):
    """A file, by reference."""

    kind: str
    uri: str
    media_type: str | None
    size_bytes: int | None
    sha256: str | None


class ArchiveVisit(BaseModel):
    """A return visit (回访) of one round."""

    round: int
    result: str | None
    rating: str | None
    comment: str | None
    by: str | None
    at: datetime | None


class ArchiveLink(BaseModel):
    """A duplicate link, by ticket numbers."""

    appeal: str | None
    master: str | None
    state: str
    auto: bool
    score: float | None
    reasons: list[str] | None


class ArchiveDeadline(BaseModel):
    """A clock as the appeal last heard of it."""

    clock: str
    unit: str | None
    due_date: date | None
    original_due_date: date | None
    provisional: bool
    state: str


class ArchiveRecord(BaseModel):
    """The complete record of a finished appeal (归档)."""

    ticket_no: str
    appeal_id: uuid.UUID
    channel: str
    channel_ref: str
    status: str
    kind: str | None
    category: str | None
    track: str | None
    urgency: str | None
    round: int
    returns: int
    town: str | None
    town_code: str | None
    village: str | None
    village_code: str | None
    address: str | None
    title: str | None
    description: str
    holder: ArchiveHolder
    received_at: datetime | None
    first_completed_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    closed_unrated: bool
    withheld: bool
    withheld_reason: str | None
    duplicate_of: str | None
    reporters: list[ArchiveReporter]
    timeline: list[ArchiveStep]
    attachments: list[ArchiveAttachment]
    return_visits: list[ArchiveVisit]
    duplicates: list[ArchiveLink]
    deadlines: list[ArchiveDeadline]
    funds_fen: dict[str, int] = Field(description="fen used per fund source")
    funds_used_fen: int


# -- the resident's own appeals (mini-program) -------------------------------------------------------


class EvaluationIn(BaseModel):
    """The resident's rating of the result (满意度评价)."""

    model_config = ConfigDict(extra="forbid")

    round: int | None = Field(
        default=None, ge=1, le=50, description="the handling round; default the current"
    )
    result: EvaluationResult = Field(description="解决 / 部分解决 / 未解决")
    rating: Rating = Field(description="满意 / 基本满意 / 不满意")
    comment: str | None = Field(default=None, max_length=1000)


class OwnEvaluation(BaseModel):
    """A return visit of one round."""

    round: int
    result: str | None
    rating: str | None
    at: datetime


class OwnAppeal(BaseModel):
    """One of the resident's appeals."""

    # The mini-program rates by id (`POST /api/v1/miniprogram/appeals/{appeal_id}/evaluation`).
    appeal_id: uuid.UUID
    ticket_no: str
    query_code: str
    channel: str
    status: str
    kind: str | None
    category: str | None
    track: str | None
    town: str | None
    village: str | None
    title: str | None
    received_at: datetime
    round: int
    awaiting_evaluation: bool
    evaluation_due_at: datetime | None
    duplicate_of: str | None
    timeline: list[TimelineEntry]
    deadlines: list[PublicDeadline]
    evaluations: list[OwnEvaluation]


class Withheld(BaseModel):
    """Whether an appeal is withheld from public disclosure now."""

    ticket_no: str
    withheld: bool


class SuggestionDecided(BaseModel):
    """A duplicate suggestion after staff decided it."""

    state: str = Field(description="rejected")


class RevealAuditQuery(BaseModel):
    """Which reveals: of one appeal, or the latest of all."""

    appeal_id: uuid.UUID | None = None
    limit: int = Field(default=200, ge=1, le=1000)
