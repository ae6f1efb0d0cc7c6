"""Events that cross a service boundary (DESIGN §3): the envelope and each type's data.

Every event: `id` (UUID), `type`, `occurred_at`, `appeal_id` where it has one, `version`, `data`.
`data` is validated against the type's model on the way out (`make_event`) and on the way in
(`Event.data_as`). Events never carry personal data: no names, phone or ID numbers.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict

from services.common import clock
from services.contracts.events.data import (
    HANDOVER_REASON,
    AppealAssigned,
    AppealClosed,
    AppealCompleted,
    AppealEvaluated,
    AppealMerged,
    AppealProgressed,
    AppealReceived,
    AppealReopened,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    ClaimChanged,
    ComplaintNoted,
    ConsultationChanged,
    ConsultationDecided,
    ConsultationNoticed,
    ConsultationObjected,
    DeadlineChanged,
    DeadlineEscalated,
    ExtensionChanged,
    FundsEvent,
    Generic,
    JobParked,
    PlanApproved,
    StatusChanged,
    _Data,
)
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

__all__ = [
    "CLOCK_CHANGES",
    "DATA_MODELS",
    "HANDOVER_REASON",
    "SELF_DELIVERED",
    "SUBSCRIPTIONS",
    "TAKEN_FIRST",
    "AppealAssigned",
    "AppealClosed",
    "AppealCompleted",
    "AppealEvaluated",
    "AppealMerged",
    "AppealProgressed",
    "AppealReceived",
    "AppealReopened",
    "AppealReturned",
    "AppealSignedOff",
    "AppealTriaged",
    "ClaimChanged",
    "ComplaintNoted",
    "ConsultationChanged",
    "ConsultationDecided",
    "ConsultationNoticed",
    "ConsultationObjected",
    "DeadlineChanged",
    "DeadlineEscalated",
    "EvaluationResult",
    "Evaluator",
    "Event",
    "EventType",
    "ExtensionChanged",
    "FundsEvent",
    "Generic",
    "JobParked",
    "Kind",
    "PlanApproved",
    "Rating",
    "SecondaryTrack",
    "Service",
    "StatusChanged",
    "Track",
    "UnitType",
    "Urgency",
    "_Data",  # the payloads' base, typed against by producers and tests
    "consumers_of",
    "make_event",
    "taken_first",
]

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
    # Operations: a job parked as a dead letter, for the city's administrators.
    "ops.job_parked",
]

Service = Literal["gateway", "intake", "routing", "deadlines", "ledger"]

# What a clock (时限) went through, each carrying the clock as it now stands: who keeps a copy of
# the clocks (intake's work list and public status) hears every one of them.
CLOCK_CHANGES: tuple[EventType, ...] = (
    "deadline.started",
    "deadline.warning",
    "deadline.overdue",
    "deadline.extended",
    "deadline.met",
    "deadline.paused",
    "deadline.resumed",
    "deadline.escalated",
    "deadline.stopped",
)


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
    "ops.job_parked": JobParked,
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
            *CLOCK_CHANGES,
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
            # The city's administrators hear of every job parked as a dead letter, in any service.
            "ops.job_parked",
        }
    ),
}


# Events a producer also hands to its own worker: its follow-up work after the commit, done once
# (inbox) and never lost (outbox), like any other consumer's. Every other event skips its producer.
SELF_DELIVERED: dict[Service, frozenset[str]] = {
    "intake": frozenset({"appeal.received"}),
    "gateway": frozenset({"ops.job_parked"}),
}


# The path from a call to the unit that handles it (分拨): triage, and intake recording where the
# appeal went. A consumer takes these ahead of the rest of its queue (its follow-up work: duplicate
# analysis, clocks, notifications, counters), so a burst of that work delays no appeal's routing.
# Per consumer: intake's own `appeal.received` (the duplicate analysis) is follow-up work, routing's
# (triage) is not.
TAKEN_FIRST: dict[Service, frozenset[str]] = {
    "routing": frozenset({"appeal.received"}),
    "intake": frozenset({"appeal.triaged", "appeal.assigned"}),
}


def taken_first(event_type: str, consumer: Service) -> bool:
    """Whether `consumer` takes `event_type` ahead of the rest of its queue (see TAKEN_FIRST)."""
    return event_type in TAKEN_FIRST.get(consumer, frozenset())


def consumers_of(event_type: str, producer: Service) -> list[Service]:
    """The services that take this event; the producer itself only for its SELF_DELIVERED ones."""
    own = event_type in SELF_DELIVERED.get(producer, frozenset())
    return [svc for svc, types in SUBSCRIPTIONS.items() if event_type in types and (svc != producer or own)]
