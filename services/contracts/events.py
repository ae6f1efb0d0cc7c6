"""Events that cross a service boundary (DESIGN §3): the envelope and each type's data.

Every event: `id` (UUID), `type`, `occurred_at`, `appeal_id` where it has one, `version`, `data`.
`data` is validated against the type's model on the way out (`make_event`) and on the way in
(`Event.data_as`). Events never carry personal data: no names, phone or ID numbers.
"""

from __future__ import annotations

import builtins
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from services.common import clock
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

EventType = Literal[
    "appeal.received",
    "appeal.merged",
    "appeal.complaint_noted",
    "appeal.triaged",
    "appeal.assigned",
    "appeal.signed_off",
    "appeal.returned",
    "consultation.decided",
    # 公示: every change of a consultation as the public sees it, and a resident's objection.
    "consultation.changed",
    "consultation.objected",
    "plan.approved",
    "claim.made",
    "claim.confirmed",
    "claim.expired",
    "funds.reserved",
    "funds.insufficient",
    "funds.disbursed",
    "funds.released",
    "deadline.started",
    "deadline.warning",
    "deadline.overdue",
    "deadline.extended",
    "deadline.met",
    "deadline.paused",
    "deadline.resumed",
    "deadline.escalated",
    "deadline.stopped",
    "deadline.extension_requested",
    "deadline.extension_rejected",
    "consultation.noticed",
    "appeal.status_changed",
    "appeal.progressed",
    "appeal.completed",
    "appeal.evaluated",
    "appeal.reopened",
    "appeal.closed",
]

Service = Literal["gateway", "intake", "routing", "deadlines", "ledger"]


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
    state: Literal["no_quorum", "rejected", "notice", "objected", "approved"]
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


DATA_MODELS: dict[str, type[_Data]] = {
    "appeal.received": AppealReceived,
    "appeal.triaged": AppealTriaged,
    "appeal.assigned": AppealAssigned,
    "appeal.signed_off": AppealSignedOff,
    "appeal.returned": AppealReturned,
    "deadline.started": DeadlineChanged,
    "deadline.warning": DeadlineChanged,
    "deadline.overdue": DeadlineChanged,
    "deadline.extended": DeadlineChanged,
    "deadline.met": DeadlineChanged,
    "deadline.paused": DeadlineChanged,
    "deadline.resumed": DeadlineChanged,
    "deadline.escalated": DeadlineEscalated,
    "deadline.stopped": DeadlineChanged,
    "deadline.extension_requested": ExtensionChanged,
    "deadline.extension_rejected": ExtensionChanged,
    "consultation.noticed": ConsultationNoticed,
    "funds.reserved": FundsEvent,
    "funds.insufficient": FundsEvent,
    "funds.disbursed": FundsEvent,
    "funds.released": FundsEvent,
    "appeal.status_changed": StatusChanged,
    "appeal.completed": AppealCompleted,
    "appeal.evaluated": AppealEvaluated,
    "appeal.closed": AppealClosed,
    "appeal.reopened": AppealReopened,
    "appeal.merged": AppealMerged,
    "appeal.complaint_noted": ComplaintNoted,
    "appeal.progressed": AppealProgressed,
    "consultation.decided": ConsultationDecided,
    "consultation.changed": ConsultationChanged,
    "consultation.objected": ConsultationObjected,
    "plan.approved": PlanApproved,
    "claim.made": ClaimChanged,
    "claim.confirmed": ClaimChanged,
    "claim.expired": ClaimChanged,
}

D = TypeVar("D", bound=_Data)


class Event(BaseModel):
    """The envelope."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    type: EventType
    occurred_at: datetime
    appeal_id: UUID | None = None
    version: int = 1
    source: Service
    data: dict[str, Any]

    def data_as(self, model: builtins.type[D]) -> D:
        """The data, validated as the given model."""
        return model.model_validate(self.data)


def make_event(type_: EventType, source: Service, data: _Data, appeal_id: UUID | None = None) -> Event:
    """A new event whose data is checked against its type's model."""
    expected = DATA_MODELS.get(type_, Generic)
    if type(data) is Generic and expected is not Generic:
        # Untyped data for a typed event must still fit its model (every field then has a default).
        data = expected.model_validate(data.model_dump())
    if not isinstance(data, expected):
        raise TypeError(f"{type_} carries {expected.__name__}, not {type(data).__name__}")
    return Event(
        id=uuid4(),
        type=type_,
        # The services' clock, which a system test may move (services.common.clock).
        occurred_at=datetime.now(UTC) + clock.offset(),
        appeal_id=appeal_id,
        source=source,
        data=data.model_dump(mode="json"),
    )


# Who consumes what. The producer's relay fans each event out to these queues; the map lives
# here because a producer must not import its consumers.
SUBSCRIPTIONS: dict[Service, frozenset[str]] = {
    "intake": frozenset(
        {
            # Its own: the work that follows recording an appeal (fingerprint, duplicates, counters)
            # runs after the commit that answered the caller (see SELF_DELIVERED).
            "appeal.received",
            "appeal.triaged",
            "appeal.assigned",
            "appeal.signed_off",
            "appeal.returned",
            "plan.approved",
            "consultation.decided",
            # The public notices (公示) on disclosure and the public status (intake.service.notices).
            "consultation.changed",
            "deadline.started",
            "deadline.warning",
            "deadline.overdue",
            "deadline.extended",
            "deadline.met",
            "deadline.paused",
            "deadline.resumed",
            "deadline.escalated",
            "deadline.stopped",
            # Funds used per appeal and source, for disclosure and statistics (the ledger emits it).
            "funds.disbursed",
        }
    ),
    # An ended appeal leaves the donor pool and the manual triage queue (routing/jobs.py).
    # A merged appeal's hop closes and its commands are refused; the unit complained about (保密)
    # never holds it (routing/handlers.py).
    "routing": frozenset({"appeal.received", "appeal.status_changed", "appeal.complaint_noted"}),
    "deadlines": frozenset(
        {
            "appeal.received",
            "appeal.triaged",
            "appeal.assigned",
            "appeal.signed_off",
            "appeal.returned",
            "appeal.status_changed",
            "plan.approved",
            "appeal.completed",
            # A rating ends the round's feedback clock; a reopened round gets its own clocks.
            "appeal.evaluated",
            "appeal.reopened",
            "appeal.closed",
        }
    ),
    # A service subscribes only to what it has a handler for: an event delivered to a
    # consumer without one would be dropped for good. tests/unit/test_contracts.py checks this.
    # Reserve on an express plan, pledge + receipt on a confirmed money claim, settle the
    # reservation on completion, release it when the appeal ends without the work (ledger/handlers.py).
    "ledger": frozenset({"plan.approved", "claim.confirmed", "appeal.completed", "appeal.status_changed"}),
    # Feedback: every change of public status reaches the reporter (services/gateway/service/feedback);
    # an approved extension too. Staff notifications (services/gateway/service/notifications): the
    # unit concerned hears of assignments, send-backs, warnings, overdue, escalations, extensions
    # and objections.
    "gateway": frozenset(
        {
            "appeal.status_changed",
            "appeal.progressed",
            "appeal.assigned",
            "appeal.returned",
            "deadline.warning",
            "deadline.overdue",
            "deadline.escalated",
            "deadline.extended",
            "deadline.extension_requested",
            "deadline.extension_rejected",
            "consultation.objected",
            # Residents hear that their micro-project's plan is on public notice (公示).
            "consultation.noticed",
        }
    ),
}


# Events a producer also hands to its own worker: its follow-up work after the commit, done once
# (inbox) and never lost (outbox), like any other consumer's. Every other event skips its producer.
SELF_DELIVERED: dict[Service, frozenset[str]] = {"intake": frozenset({"appeal.received"})}


def consumers_of(event_type: str, producer: Service) -> list[Service]:
    """The services that take this event; the producer itself only for its SELF_DELIVERED ones."""
    own = event_type in SELF_DELIVERED.get(producer, frozenset())
    return [svc for svc, types in SUBSCRIPTIONS.items() if event_type in types and (svc != producer or own)]
