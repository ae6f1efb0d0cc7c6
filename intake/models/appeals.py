"""The appeal record (民生诉求) and what hangs on it: people, files, timeline, clocks, funds, notices, additions."""

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
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import DUE_KEY_SQL, Base
from services.common.db import UTCDateTime


class Appeal(Base):
    """One livelihood appeal (民生诉求), whatever door it came through."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("channel", "channel_ref"),
        Index("ix_appeals_status_town", "status", "town_code"),
        Index("ix_appeals_received_at", "received_at"),
        Index("ix_appeals_duplicate_of", "duplicate_of", postgresql_where=text("duplicate_of IS NOT NULL")),
        Index(
            "ix_appeals_evaluation_due",
            "evaluation_due_at",
            postgresql_where=text("status = 'completed'"),
        ),
        Index("ix_appeals_closed_at", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
        # The staff work list (工作台) pages by next deadline, nulls last (intake.service.worklist).
        Index("ix_appeals_worklist", text(DUE_KEY_SQL), "received_at", "id"),
        # Each scope reads its own rows in list order: a village, a town, a holding unit (a
        # department or station may hold a handful among a million: bench/worklist_scale.py).
        Index("ix_appeals_worklist_town", "town_code", text(DUE_KEY_SQL), "received_at", "id"),
        Index(
            "ix_appeals_worklist_village",
            "village_code",
            text(DUE_KEY_SQL),
            "received_at",
            "id",
        ),
        Index(
            "ix_appeals_worklist_holder",
            "holder_type",
            "holder_code",
            text(DUE_KEY_SQL),
            "received_at",
            "id",
        ),
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
    # 政策 + top-up: express or direct beside a policy track (routing's triage decides it).
    secondary_track: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    holder_type: Mapped[str | None] = mapped_column(String(16))
    holder_code: Mapped[str | None] = mapped_column(String(32))
    # The hop (交办) last applied and what for ("handle" / "consult"): a sign-off names its hop.
    holder_hop: Mapped[int | None] = mapped_column(Integer)
    holder_purpose: Mapped[str | None] = mapped_column(String(16))

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
    # Where a linked duplicate was before its link, so that an undo can put it back.
    pre_merge_status: Mapped[str | None] = mapped_column(String(16))
    # The same person with the same matter again (重复诉求): their earlier appeal.
    repeat_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appeals.id"))
    # Rounds of work: 1, and one more each time the resident's dissatisfaction reopens it.
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    returns_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 回访 due: a completed appeal not rated by then closes unrated (a cron reads only due rows).
    evaluation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_unrated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # 保密: the unit the appeal complains about never sees who filed it.
    complained_unit_type: Mapped[str | None] = mapped_column(String(16))
    complained_unit_code: Mapped[str | None] = mapped_column(String(32))
    # Public disclosure: staff may withhold an item, with a reason.
    withheld: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    funds_used_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Work list projection (工作台), kept from the clocks' events: the earliest deadline of a
    # running or overdue clock, and whether any clock is overdue.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Bumped on changes to the appeal as staff see it; the public ETag follows `public_rev` instead.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Changes to the public status, counted by database triggers in the changing transaction
    # (migration c14d0c5a7e11); `PublicStatus.rev` says which one a kept document shows.
    public_rev: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
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


class QuotedNumber(Base):
    """A phone or ID number a reporter wrote in the appeal's words (title, description, transcript…).

    The words are stored with it masked (`138****5678`); the full number is kept here only
    encrypted, with a keyed lookup hash beside it, and leaves only through the audited reveal
    (`field` `quoted_phone` / `quoted_id_number`, `index` = `ordinal`).
    """

    __tablename__ = "quoted_numbers"
    __table_args__ = (
        UniqueConstraint("appeal_id", "kind", "ordinal"),
        Index("ix_quoted_numbers_value_hash", "value_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    kind: Mapped[str] = mapped_column(String(16))  # phone | id_number
    ordinal: Mapped[int] = mapped_column(Integer)  # 1, 2, … in order of appearance, per kind
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    value_hash: Mapped[str] = mapped_column(String(64))
    masked: Mapped[str] = mapped_column(String(24))


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
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PublicStatus(Base):
    """The public status (DESIGN §10) as it is sent, body and ETag, at revision `rev` of its
    appeal: a poll is one indexed read while `rev` equals `Appeal.public_rev`."""

    __tablename__ = "public_status"

    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    rev: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)


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
    # Whether the statistics have counted this clock's outcome (met or overdue) yet: exactly once.
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Evaluation(Base):
    """A return visit (回访) of one round: the result and the rating, once per round."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("appeal_id", "round"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    round: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(16))  # resolved | partly | not; None: unrated
    rating: Mapped[str | None] = mapped_column(String(24))  # satisfied | basically_satisfied | dissatisfied
    comment: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(16))  # reporter | staff | system (closed unrated)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevealAudit(Base):
    """Every reveal of a phone or ID number (or a confidential name): who, when, which appeal, why."""

    __tablename__ = "reveal_audit"
    __table_args__ = (Index("ix_reveal_audit_appeal", "appeal_id", "at"), Index("ix_reveal_audit_at", "at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))  # staff:<username> | service:<caller>
    actor_role: Mapped[str | None] = mapped_column(String(24))
    actor_org: Mapped[str | None] = mapped_column(String(40))
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    fields: Mapped[str] = mapped_column(String(100))  # e.g. "reporter.phone" or "contacts"
    reason: Mapped[str] = mapped_column(Text)


class AppealFunds(Base):
    """Funds used by an appeal per source, projected from the ledger's `funds.disbursed` events."""

    __tablename__ = "appeal_funds"

    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class AppealNotice(Base):
    """A community consultation's public notice (公示), projected from routing's
    `consultation.changed`: the latest snapshot wins (``as_of``), never an older one."""

    __tablename__ = "appeal_notices"
    __table_args__ = (
        Index("ix_appeal_notices_held_at", "held_at"),
        Index(
            "ix_appeal_notices_notice_ends_at", "notice_ends_at", postgresql_where=text("state = 'notice'")
        ),
    )

    consultation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notice_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the event's data (ConsultationChanged)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)


class Addition(Base):
    """What a reporter added to their open appeal after filing it (补充材料): media, a location,
    a note. Once per (channel, channel_ref); its media are rows of `attachments` as well."""

    __tablename__ = "additions"
    __table_args__ = (UniqueConstraint("channel", "channel_ref"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    channel_ref: Mapped[str] = mapped_column(String(128))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    datum: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
