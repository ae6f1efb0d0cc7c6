"""Intake's tables (schema `intake`): the appeal record, its people, files, timeline, clocks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Intake's declarative base."""

    metadata = service_metadata("intake")


messaging = messaging_tables(Base.metadata)
ticket_seq = Sequence("ticket_seq", metadata=Base.metadata, start=1)


class Appeal(Base):
    """One livelihood appeal (民生诉求), whatever door it came through."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("channel", "channel_ref"),
        Index("ix_appeals_status_town", "status", "town_code"),
        Index("ix_appeals_received_at", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True)
    query_code: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(32))
    channel_ref: Mapped[str] = mapped_column(String(128))
    draft_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    status: Mapped[str] = mapped_column(String(16), default="received")
    held_from: Mapped[str | None] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    track: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    holder_type: Mapped[str | None] = mapped_column(String(16))
    holder_code: Mapped[str | None] = mapped_column(String(32))

    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str] = mapped_column(String(8), default="wgs84")
    grid_code: Mapped[str | None] = mapped_column(String(40))

    beneficiary_count: Mapped[int | None] = mapped_column(Integer)
    beneficiary_group: Mapped[str | None] = mapped_column(String(50))
    help_requested: Mapped[str | None] = mapped_column(Text)
    estimated_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    category_hint: Mapped[str | None] = mapped_column(String(100))
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_extra: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appeals.id"))
    # Bumped on every change a reader can see; the public ETag follows it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now(), onupdate=func.now())


class Reporter(Base):
    """A person behind an appeal: the reporter, or the family a cadre reports for (代报)."""

    __tablename__ = "reporters"
    __table_args__ = (Index("ix_reporters_phone_hash", "phone_hash"), Index("ix_reporters_openid", "openid"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))  # reporter | on_behalf_of
    name: Mapped[str | None] = mapped_column(String(50))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(24))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    id_number_masked: Mapped[str | None] = mapped_column(String(24))
    openid: Mapped[str | None] = mapped_column(String(64))
    hukou_local: Mapped[bool | None] = mapped_column(Boolean)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="resident")


class Attachment(Base):
    """A photo, voice note or document, stored by reference."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))


class TimelineEntry(Base):
    """The audit trail (时间轴): every state change and notable fact, who, when, why."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_appeal_at", "appeal_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column()
    public_description: Mapped[str] = mapped_column(String(300))
    public: Mapped[bool] = mapped_column(Boolean, default=True)


class AppealDeadline(Base):
    """Projection of the deadlines service's clocks, for the public status."""

    __tablename__ = "appeal_deadlines"

    clock_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), index=True)
    clock: Mapped[str] = mapped_column(String(32))
    unit_type: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_date: Mapped[date | None] = mapped_column(Date)
    original_due_date: Mapped[date | None] = mapped_column(Date)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))
    # Event time of the last applied change: an older event arriving late must not win.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
