"""Staff work lists and notifications (DESIGN §10 "Staff work lists", "Staff notifications").

`GET /api/v1/staff/appeals` (intake answers, the gateway forwards), its summary, and the staff
notifications the gateway keeps (`GET /api/v1/staff/notifications`). One definition, used by
intake, the gateway and the tests.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.contracts.vocabulary import Category, Kind, Status, Track, Urgency

WORKLIST_MAX = 200
SHANGHAI = ZoneInfo("Asia/Shanghai")


class WorkListQuery(BaseModel):
    """The work list's filters; all optional, combined with AND."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    kind: Kind | None = None
    category: Category | None = None
    urgency: Urgency | None = None
    track: Track | None = None
    town_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    holder: Literal["mine"] | None = Field(
        default=None, description="`mine`: only what the viewer's own unit holds"
    )
    overdue: bool | None = Field(default=None, description="true: past a deadline; false: not")
    due_before: datetime | None = Field(
        default=None,
        description="next deadline before this instant (a date or a time without offset is Beijing time)",
    )
    q: str | None = Field(default=None, min_length=1, max_length=100, description="text, or a ticket number")
    cursor: str | None = Field(default=None, max_length=400)
    limit: int = Field(default=50, ge=1, le=WORKLIST_MAX)

    @field_validator("due_before")
    @classmethod
    def _local_when_naive(cls, value: datetime | None) -> datetime | None:
        # Times are reasoned about in Asia/Shanghai (DESIGN §3): "2026-12-10" is that day's start there.
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=SHANGHAI)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # the first or last instants of year 1 or 9999 in another zone
            raise ValueError("时间超出可查询的范围") from None


class WorkHolder(BaseModel):
    """The unit that holds the appeal now (承办单位)."""

    type: str
    code: str
    name: str | None = None


class WorkItem(BaseModel):
    """One row of a work list: enough to pick the next job, no personal data."""

    appeal_id: uuid.UUID
    ticket_no: str
    status: Status
    kind: Kind | None
    category: str | None
    urgency: Urgency
    track: Track | None
    town: str | None = Field(description="the town's name")
    village: str | None = Field(description="the village's (community's) name")
    town_code: str | None = None
    village_code: str | None = None
    holder: WorkHolder | None
    received_at: datetime
    next_due_at: datetime | None = Field(description="the earliest deadline of a clock that runs")
    overdue: bool


class WorkList(BaseModel):
    """A page of the work list, sorted by next deadline (none last)."""

    items: list[WorkItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class WorkSummary(BaseModel):
    """Counts of the appeals in the viewer's scope."""

    counts: dict[str, int] = Field(description="per status (every status, zero included)")
    total: int
    overdue: int


NotificationKind = Literal[
    "assigned",
    "returned",
    "deadline_warning",
    "overdue",
    "escalated",
    "extension_requested",
    "extension_decided",
    "objection",
    "noticed",
    # A job parked as a dead letter (死信), to the city's administrators.
    "job_parked",
]


class NotificationQuery(BaseModel):
    """Paging of one's notifications."""

    model_config = ConfigDict(extra="forbid")

    unread: bool | None = Field(default=None, description="true: only the unread")
    cursor: str | None = Field(default=None, max_length=400)
    limit: int = Field(default=50, ge=1, le=WORKLIST_MAX)


class StaffNotification(BaseModel):
    """One notice to the members of staff of a unit (提醒)."""

    id: uuid.UUID
    kind: NotificationKind
    appeal_id: uuid.UUID | None
    ticket_no: str | None
    text: str
    created_at: datetime
    read: bool


class NotificationList(BaseModel):
    """A page of notifications: unread first, newest first within each."""

    items: list[StaffNotification]
    next_cursor: str | None


class StaffContactIn(BaseModel):
    """Where one's own notifications are pushed; both replace what was there, null clears."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(
        default=None, min_length=3, max_length=32, description="a mobile for SMS (kept only encrypted)"
    )
    openid: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="one's mini-program openid, for subscribe messages",
    )


class StaffContact(BaseModel):
    """Where one's notifications are pushed, masked (the number itself is never answered)."""

    phone_masked: str | None
    openid_masked: str | None


__all__ = [
    "NotificationKind",
    "NotificationList",
    "NotificationQuery",
    "StaffContact",
    "StaffContactIn",
    "StaffNotification",
    "WorkHolder",
    "WorkItem",
    "WorkList",
    "WorkListQuery",
    "WorkSummary",
]
