"""The data of each event type (the envelope is `services.contracts.events.Event`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.vocabulary import (
    EvaluationResult,
    Evaluator,
    Kind,
    Rating,
    SecondaryTrack,
    Track,
    Urgency,
)
from services.contracts.vocabulary import UnitType as UnitType


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppealReceived(_Data):
    """A new appeal was recorded. Text only: the reporter stays in intake."""

    ticket_no: str
    channel: str
    received_at: datetime
    title: str | None = None
    description: str
    address: str | None = None
    category_hint: str | None = None
    town_code: str | None = None
    village_code: str | None = None
    lat: float | None = None
    lng: float | None = None
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    grid_code: str | None = None
    urgency_hint: Urgency | None = None
    beneficiary_count: int | None = None
    estimated_amount_fen: int | None = None
    # The 莞家驿站 whose worker filed a walk-in (``station_walk_in`` only): where to place it when
    # its words name no place.
    station_code: str | None = None


class AppealTriaged(_Data):
    """Routing decided what the appeal is and where it is (分拣)."""

    kind: Kind
    category: str
    urgency: Urgency
    track: Track
    town_code: str | None
    village_code: str | None
    policy_codes: list[str] = Field(default_factory=list)
    catalogue_version: str
    needs_manual: bool = False
    confidence: float
    # A top-up beside a policy benefit (政策 + 莞家速递 or 莞家直达); None when there is none.
    secondary_track: SecondaryTrack | None = None


class AppealAssigned(_Data):
    """The appeal is now held by a unit (交办). `purpose` says what for."""

    unit_type: UnitType
    unit_code: str
    purpose: Literal["handle", "consult"]
    kind: Kind
    urgency: Urgency
    track: Track
    policy_code: str | None = None
    hop: int = 1
    # The catalogue's time limit (办理时限) of ``policy_code`` when the hop was made: a policy
    # referral is handled within it unless a deadline rule names the policy itself.
    policy_time_limit_working_days: int | None = Field(default=None, ge=1, le=1000)


class AppealSignedOff(_Data):
    """The assigned unit acknowledged the appeal (签收)."""

    unit_type: str
    unit_code: str
    hop: int


# The reason code of a hand-over (改派 / 转交: the town or the city moving the appeal to another
# unit, e.g. to its own station): a hop like any other, not a send-back (首次办结率 is not lowered).
HANDOVER_REASON = "reassigned"


class AppealReturned(_Data):
    """Send-back (退单) by the holding unit, or a hand-over (``reason_code`` ``HANDOVER_REASON``)."""

    unit_type: str
    unit_code: str
    reason_code: str
    policy_basis: str
    hop: int


class DeadlineChanged(_Data):
    """Any change of a clock: started, warning, overdue, extended, met, paused, resumed, stopped.

    ``original_due_date`` is the deadline without extensions (延期), the one on-time rates judge
    against. ``description`` is the public wording of a change people decided (an approved
    extension), for the appeal's timeline.
    """

    clock_id: UUID
    clock: str
    unit_type: str | None = None
    unit_code: str | None = None
    due_at: datetime | None
    due_date: date | None
    provisional: bool
    state: Literal["running", "paused", "met", "overdue", "stopped"]
    original_due_date: date | None = None
    description: str | None = None


class DeadlineEscalated(DeadlineChanged):
    """督办: an overdue clock escalated to ``level`` levels above its unit (1: one level up), to the
    target unit (village → town → city, department → city, station → town → city)."""

    level: int = Field(ge=1)
    target_unit_type: Literal["town", "city"]
    target_unit_code: str


class ExtensionChanged(_Data):
    """`deadline.extension_requested` / `deadline.extension_rejected`: a request for more time
    (延期申请), asked by the unit that holds the clock and decided one level up. (An approval is
    `deadline.extended`.) Carries no words of the request: the reason may name people."""

    extension_id: UUID
    clock_id: UUID
    clock: str
    unit_type: str
    unit_code: str
    approver_type: str
    approver_code: str
    days: int
    due_date_before: date | None = None
    due_date_after: date | None = None


class ConsultationNoticed(_Data):
    """`consultation.noticed`: the community passed the plan and it is publicly noticed (公示)
    until `notice_ends_at`; without an objection by then it is approved (`plan.approved`)."""

    consultation_id: UUID
    unit_type: UnitType
    unit_code: str
    notice_ends_at: datetime
    budget_fen: int | None = None


class FundsEvent(_Data):
    """A ledger effect concerning an appeal (``funds.reserved`` / ``insufficient`` / ``disbursed`` /
    ``released``). ``reference`` is the reservation id, else the journal entry id; ``sources`` is
    the amount per fund source (``city_finance``, ``donation`` …) when money moved."""

    amount_fen: int
    reference: str
    detail: dict[str, Any] = Field(default_factory=dict)
    sources: dict[str, int] = Field(default_factory=dict)
    entry_id: UUID | None = None
    reservation_id: UUID | None = None
    holder_type: str | None = None
    holder_code: str | None = None


class StatusChanged(_Data):
    """Intake moved the appeal to a new public status."""

    from_status: str
    to_status: str
    reason: str | None = None


class AppealCompleted(_Data):
    """办结: the holding unit finished a round of work; the return visit (回访) is due."""

    round: int = 1
    unit_type: str | None = None
    unit_code: str | None = None
    reason: str | None = None
    evaluation_due_at: datetime | None = None


class AppealEvaluated(_Data):
    """回访: the reporter (or staff for them) rated a round. A dissatisfied rating reopens it."""

    round: int = 1
    result: EvaluationResult | None = None
    rating: Rating | None = None
    by: Evaluator = "reporter"
    # Set when the rated appeal is a linked duplicate: its master did the work.
    master_id: UUID | None = None


class AppealClosed(_Data):
    """Closed after the return visit, or unrated when nobody answered in time (counted apart)."""

    round: int = 1
    result: EvaluationResult | None = None
    rating: Rating | None = None
    unrated: bool = False
    reason: str | None = None


class AppealReopened(_Data):
    """The resident was not satisfied: the work is redone as a new round."""

    round: int = 2
    reason: str | None = None


class ComplaintNoted(_Data):
    """保密: staff recorded which unit the appeal complains about (None for both: none). That unit
    never holds the appeal (routing hands it one level up) nor reads its reporter."""

    unit_type: UnitType | None = None
    unit_code: str | None = None


class AppealMerged(_Data):
    """Linked as a duplicate of a master appeal (nothing deleted; its reporter still hears back)."""

    master_id: UUID | None = None
    master_ticket_no: str | None = None
    score: float | None = None
    auto: bool = False
    reason: str | None = None


class AppealProgressed(_Data):
    """A public step that is not a status change, e.g. the master of a linked duplicate moved on."""

    description: str = ""
    round: int = 1
    master_id: UUID | None = None
    master_status: str | None = None


class ConsultationDecided(_Data):
    """协商议事 decided a micro-project: ``approved`` (after the public notice) or ``rejected``."""

    consultation_id: UUID
    outcome: Literal["approved", "rejected"]
    form: str  # residents_council | party_masses_joint | public_hearing | online
    unit_type: UnitType
    unit_code: str
    reason: str | None = None  # why it was rejected, in Chinese, for the resident
    budget_fen: int | None = None
    present_count: int | None = None
    eligible_count: int | None = None


class ConsultationChanged(_Data):
    """A consultation recorded or changed (notice, objection, approval): the public notice's
    content. The plan's words are public-safe (`services.common.public_text`); no attendee names."""

    consultation_id: UUID
    ticket_no: str
    unit_type: UnitType
    unit_code: str
    town_code: str | None = None
    village_code: str | None = None
    form: str
    body: str
    held_at: datetime
    eligible_count: int
    present_count: int
    households_total: int | None = None
    households_present: int | None = None
    quorum_met: bool
    necessity: str
    feasibility: str
    budget_fen: int
    beneficiary_count: int | None = None
    beneficiary_group: str | None = None
    beneficiary_description: str | None = None
    implementer: str
    track: Track
    votes: dict[str, dict[str, int]]
    state: Literal["no_quorum", "rejected", "notice", "objected", "approved", "cancelled"]
    reason: str | None = None
    notice_days: int
    notice_starts_at: datetime | None = None
    notice_ends_at: datetime | None = None
    objections: int = 0
    decided_at: datetime | None = None


class ConsultationObjected(_Data):
    """`consultation.objected`: an objection (异议) during the public notice (公示) sent the plan back
    to consultation; the convening unit must know. The objection's words stay in routing (they may
    name people)."""

    consultation_id: UUID
    unit_type: UnitType
    unit_code: str
    town_code: str | None = None
    # Which objection, on which ticket, raised by a resident (mini-program) or recorded by staff.
    objection_id: UUID | None = None
    ticket_no: str | None = None
    by: Literal["resident", "staff"] = "staff"


class PlanApproved(_Data):
    """The plan of a micro-project is approved: budget, how it is paid, and the unit that carries it
    out (and, for ``express``, holds the fund it is reserved from). Shared by routing (producer),
    ledger (reserves), deadlines (the works clock: ``kind``, ``unit_type``/``unit_code``), intake."""

    amount_fen: int = Field(ge=0)
    track: Track
    unit_type: UnitType
    unit_code: str
    kind: Kind = "micro_project"
    consultation_id: UUID | None = None
    town_code: str | None = None
    village_code: str | None = None
    category: str | None = None
    implementer: str | None = None


class ClaimChanged(_Data):
    """认领 of 莞家直达: ``claim.made`` (pledged), ``claim.confirmed`` (fulfilled, confirmed by the
    beneficiary or staff: the ledger records the pledge and its receipt), ``claim.expired``."""

    claim_id: UUID
    donor_id: UUID
    donor_kind: Literal["enterprise", "social_organisation", "individual"]
    pool: Literal["city", "town"]
    pool_town_code: str | None = None
    kind: Literal["money", "service"]
    amount_fen: int | None = None
    appeal_kind: Kind
    town_code: str | None = None
    village_code: str | None = None
    expires_at: datetime | None = None
    confirmed_by: Literal["beneficiary", "staff"] | None = None


class Generic(_Data):
    """Types whose data is not yet pinned down by a later issue."""

    model_config = ConfigDict(extra="allow", frozen=True)


class JobParked(_Data):
    """A job failed for good and was parked as a dead letter (死信) in `service`: until a person
    replays or dismisses it, the appeal it carried (the event's `appeal_id`) may be stuck."""

    service: Literal["gateway", "intake", "routing", "deadlines", "ledger"]
    letter_id: int
    job_name: str
    event_type: str | None = None  # the event the job carried, for an event consumer's job
