"""Dispositions: the chain of hops an appeal takes (交办 → 签收 / 退单), and joint meetings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class Assignment(Base):
    """One hop: a unit holding the appeal, to consult on or to handle.

    ``state``: ``assigned`` → ``signed_off`` (签收) → ``done``; or ``returned`` (退单 by the
    unit) or ``reassigned`` (taken away by the town or city). ``binding``: decided by the town,
    the city or a joint meeting after the send-backs were used up: it cannot be sent back again.
    """

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("appeal_id", "hop"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    hop: Mapped[int] = mapped_column(Integer)
    unit_type: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="assigned")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    policy_basis: Mapped[str | None] = mapped_column(Text)
    # Added with dispositions.
    track: Mapped[str | None] = mapped_column(String(16))
    policy_code: Mapped[str | None] = mapped_column(String(64))
    binding: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    decided_by: Mapped[str | None] = mapped_column(String(16))  # triage | town | city | joint_meeting
    assisting_units: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    note: Mapped[str | None] = mapped_column(Text)
    assigned_by: Mapped[str | None] = mapped_column(String(64))


class JointMeeting(Base):
    """联席会议: the town's or the city's meeting of departments that settles who owns a case."""

    __tablename__ = "joint_meetings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    level: Mapped[str] = mapped_column(String(8))  # town | city
    org_code: Mapped[str] = mapped_column(String(32))  # the town's code, or "city"
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))


class AgendaItem(Base):
    """A case on a joint meeting's agenda; the meeting's decision assigns it."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        Index(
            "uq_agenda_items_pending_appeal",
            "appeal_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    level: Mapped[str] = mapped_column(String(8))
    org_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), server_default=text("'pending'"))
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("routing.joint_meetings.id"))
    lead_unit_type: Mapped[str | None] = mapped_column(String(16))
    lead_unit_code: Mapped[str | None] = mapped_column(String(32))
    assisting_units: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
