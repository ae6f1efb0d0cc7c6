"""Routing's tables (schema `routing`): triage results and the chain of assignments (hops)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Routing's declarative base."""

    metadata = service_metadata("routing")


messaging = messaging_tables(Base.metadata)


class TriageResult(Base):
    """分拣: what an appeal is, where, which track, and why the rules said so."""

    __tablename__ = "triage_results"

    appeal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    track: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(32))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    location_method: Mapped[str] = mapped_column(String(16))
    policy_codes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    confidence: Mapped[float] = mapped_column(Float)
    needs_manual: Mapped[bool] = mapped_column(Boolean)
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    catalogue_version: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class Assignment(Base):
    """One hop: a unit holding the appeal, to consult on or to handle (交办 → 签收 / 退单)."""

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
