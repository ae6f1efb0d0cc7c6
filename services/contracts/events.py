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

EventType = Literal[
    "appeal.received",
    "appeal.merged",
    "appeal.triaged",
    "appeal.assigned",
    "appeal.signed_off",
    "appeal.returned",
    "consultation.decided",
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
    urgency_hint: Literal["normal", "urgent", "emergency"] | None = None
    beneficiary_count: int | None = None
    estimated_amount_fen: int | None = None


class AppealTriaged(_Data):
    """Routing decided what the appeal is and where it is (分拣)."""

    kind: Literal["micro_project", "micro_wish"]
    category: str
    urgency: Literal["normal", "urgent", "emergency"]
    track: Literal["policy", "express", "direct", "station"]
    town_code: str | None
    village_code: str | None
    policy_codes: list[str] = Field(default_factory=list)
    catalogue_version: str
    needs_manual: bool = False
    confidence: float


class AppealAssigned(_Data):
    """The appeal is now held by a unit (交办). `purpose` says what for."""

    unit_type: Literal["city", "town", "village", "department", "station"]
    unit_code: str
    purpose: Literal["handle", "consult"]
    kind: Literal["micro_project", "micro_wish"]
    urgency: Literal["normal", "urgent", "emergency"]
    track: Literal["policy", "express", "direct", "station"]
    policy_code: str | None = None
    hop: int = 1


class AppealSignedOff(_Data):
    """The assigned unit acknowledged the appeal (签收)."""

    unit_type: str
    unit_code: str
    hop: int


class AppealReturned(_Data):
    """Send-back (退单) by the holding unit."""

    unit_type: str
    unit_code: str
    reason_code: str
    policy_basis: str
    hop: int


class DeadlineChanged(_Data):
    """Any change of a clock: started, warning, overdue, extended, met, paused, resumed."""

    clock_id: UUID
    clock: str
    unit_type: str | None = None
    unit_code: str | None = None
    due_at: datetime | None
    due_date: date | None
    provisional: bool
    state: Literal["running", "paused", "met", "overdue", "stopped"]
    original_due_date: date | None = None


class FundsEvent(_Data):
    """A ledger effect concerning an appeal."""

    amount_fen: int
    reference: str
    detail: dict[str, Any] = Field(default_factory=dict)


class StatusChanged(_Data):
    """Intake moved the appeal to a new public status."""

    from_status: str
    to_status: str
    reason: str | None = None


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
    "funds.reserved": FundsEvent,
    "funds.insufficient": FundsEvent,
    "funds.disbursed": FundsEvent,
    "funds.released": FundsEvent,
    "appeal.status_changed": StatusChanged,
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
    if not isinstance(data, expected):
        raise TypeError(f"{type_} carries {expected.__name__}, not {type(data).__name__}")
    return Event(
        id=uuid4(),
        type=type_,
        occurred_at=datetime.now(UTC),
        appeal_id=appeal_id,
        source=source,
        data=data.model_dump(mode="json"),
    )


# Who consumes what. The producer's relay fans each event out to these queues; the map lives
# here because a producer must not import its consumers.
SUBSCRIPTIONS: dict[Service, frozenset[str]] = {
    "intake": frozenset(
        {
            "appeal.triaged",
            "appeal.assigned",
            "appeal.signed_off",
            "appeal.returned",
            "plan.approved",
            "deadline.started",
            "deadline.warning",
            "deadline.overdue",
            "deadline.extended",
            "deadline.met",
            "deadline.paused",
            "deadline.resumed",
        }
    ),
    "routing": frozenset({"appeal.received"}),
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
            "appeal.closed",
        }
    ),
    # A service subscribes only to what it has a handler for: an event delivered to a
    # consumer without one would be dropped for good. tests/unit/test_contracts.py checks this.
    "ledger": frozenset(),
    "gateway": frozenset(),
}


def consumers_of(event_type: str, producer: Service) -> list[Service]:
    """The services that take this event, never the producer itself."""
    return [svc for svc, types in SUBSCRIPTIONS.items() if event_type in types and svc != producer]
