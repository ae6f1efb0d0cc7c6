"""Community consultations (协商议事) on micro-projects, their votes, notice and objections."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class Consultation(Base):
    """One meeting on one micro-project: who came, how they voted on the five points, the notice.

    ``state``: ``no_quorum`` (the meeting could not decide), ``rejected`` (a point failed),
    ``notice`` (passed; 公示 running), ``objected`` (an objection during the notice sent it back),
    ``approved`` (the notice ended without objection: the plan is approved).
    """

    __tablename__ = "consultations"
    __table_args__ = (
        Index(
            "uq_consultations_open_appeal",
            "appeal_id",
            unique=True,
            postgresql_where=text("state IN ('notice', 'approved')"),
        ),
        CheckConstraint("present_count >= 0 AND present_count <= eligible_count", name="present_in_range"),
        CheckConstraint("budget_fen >= 0", name="budget_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    org_type: Mapped[str] = mapped_column(String(16))  # village | town
    org_code: Mapped[str] = mapped_column(String(32))
    town_code: Mapped[str] = mapped_column(String(12))
    form: Mapped[str] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(String(16))  # assembly | representatives
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eligible_count: Mapped[int] = mapped_column(Integer)
    present_count: Mapped[int] = mapped_column(Integer)
    households_total: Mapped[int | None] = mapped_column(Integer)
    households_present: Mapped[int | None] = mapped_column(Integer)
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # The five points (五议): necessity, feasibility, budget, beneficiaries, implementer.
    necessity: Mapped[str] = mapped_column(Text)
    feasibility: Mapped[str] = mapped_column(Text)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    beneficiaries: Mapped[dict[str, Any]] = mapped_column(JSONB)
    implementer: Mapped[str] = mapped_column(String(200))
    votes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The plan, if approved: how it is paid for and which unit carries it out.
    track: Mapped[str] = mapped_column(String(16))
    holder_type: Mapped[str] = mapped_column(String(16))
    holder_code: Mapped[str] = mapped_column(String(32))
    quorum_met: Mapped[bool] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    notice_days: Mapped[int] = mapped_column(Integer)
    notice_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))


class ConsultationObjection(Base):
    """异议: raised during the public notice; it sends the item back to consultation.

    Staff record one heard at the notice board; a resident raises one through the mini-program
    (``by_kind`` ``resident``, ``resident_ref`` a keyed hash of their openid, never the openid). A
    resident's ``Idempotency-Key`` names one objection, kept in the kernel's ``routing.commands``
    (`services.common.idempotency.run_once`): a replay answers the first one.
    """

    __tablename__ = "consultation_objections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing.consultations.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    by_kind: Mapped[str] = mapped_column(String(12), server_default=text("'staff'"))
    resident_ref: Mapped[str | None] = mapped_column(String(64))
