"""The deadlines service's tables, in its own ``deadlines`` schema.

``clocks`` holds one row per timed step of an appeal (a clock, 计时); ``calendar_years`` the
official holiday schedules uploaded by city staff; ``tracked_appeals`` the few facts about an
appeal that the clocks depend on (received, kind, town, on hold, ended), so events that arrive out
of order can be told apart from events that never will; ``rule_sets`` the clock tables city staff
published (时限规则, versioned); ``extensions`` the requests for more time (延期) and their decisions;
``reminders`` one row per clock and reminder stage (预警, 超期, each 督办 level), the guard that
makes each reminder go out once; ``clock_changes`` the journal of every announced change, the
deadline history of an appeal.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.idempotency import commands_table
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Declarative base bound to the ``deadlines`` schema."""

    metadata = service_metadata("deadlines")


messaging = messaging_tables(Base.metadata)
# Idempotency keys of extension requests (幂等), the kernel's table: key → the request it made.
commands = commands_table(Base.metadata)

CLOCK_NAMES = ("triage", "sign_off", "handling", "consultation", "works", "feedback")
CLOCK_STATES = ("running", "paused", "met", "overdue", "stopped")
# Clocks that can still change: the sweep, pauses and recomputations look only at these.
ACTIVE_STATES = ("running", "paused", "overdue")
EXTENSION_STATES = ("requested", "approved", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Clock(Base):
    """One deadline clock of one appeal, for one hop (交办环节), charged to one unit.

    ``due_date`` is a local date: the deadline is the end of that day, Asia/Shanghai; ``due_at``
    is that instant in UTC, kept beside it so the sweep compares timestamps through an index.
    ``original_due_date`` is the due date without extensions (延期), for the on-time rate: the
    limit plus the pauses (挂起, waiting for the resident) that began before it passed.

    The sweep reads three partial indexes, each holding only the clocks that still wait for that
    step: running clocks by ``due_at`` (超期), unwarned running clocks by ``warn_at`` (预警), overdue
    clocks by ``escalate_at`` (the next 督办 level). Lists per unit and per town read two more.
    """

    __tablename__ = "clocks"
    __table_args__ = (
        # A replayed or re-sent start finds its clock already there and does nothing; a redone
        # round (重新办理) has clocks of its own.
        UniqueConstraint("appeal_id", "clock", "hop", "round"),
        CheckConstraint("round >= 1", name="round"),
        CheckConstraint(_in("clock", CLOCK_NAMES), name="clock"),
        CheckConstraint(_in("state", CLOCK_STATES), name="state"),
        CheckConstraint(_in("limit_kind", ("working_days", "months")), name="limit_kind"),
        CheckConstraint("limit_value >= 1", name="limit_value"),
        CheckConstraint("hop >= 0", name="hop"),
        CheckConstraint("paused_days >= 0", name="paused_days"),
        CheckConstraint("original_paused_days BETWEEN 0 AND paused_days", name="original_paused_days"),
        CheckConstraint("extended_days >= 0", name="extended_days"),
        CheckConstraint("warn_ratio > 0 AND warn_ratio < 1", name="warn_ratio"),
        # The limit on extensions holds in the database, not only in Python.
        CheckConstraint("extensions_used BETWEEN 0 AND extensions_allowed", name="extensions_used"),
        CheckConstraint("escalation_level >= 0", name="escalation_level"),
        # The sweep reads only clocks that are due for a step, however many are open or finished.
        Index("ix_clocks_overdue_pending", "due_at", postgresql_where=text("state = 'running'")),
        Index(
            "ix_clocks_warn_pending",
            "warn_at",
            postgresql_where=text("warned_at IS NULL AND state = 'running'"),
        ),
        Index("ix_clocks_escalation_pending", "escalate_at", postgresql_where=text("state = 'overdue'")),
        # The city's overdue list; its due list reads ix_clocks_overdue_pending.
        Index("ix_clocks_overdue", "due_at", postgresql_where=text("state = 'overdue'")),
        # Due and overdue lists of one unit, and of a town with its villages and stations.
        Index(
            "ix_clocks_open_unit",
            "unit_type",
            "unit_code",
            "state",
            "due_at",
            postgresql_where=text("state IN ('running', 'overdue')"),
        ),
        Index(
            "ix_clocks_open_town",
            "scope_town",
            "state",
            "due_at",
            postgresql_where=text("state IN ('running', 'overdue')"),
        ),
        # On-time rates of a unit or a town over a period.
        Index("ix_clocks_unit_judged", "unit_type", "unit_code", "original_due_date"),
        Index("ix_clocks_town_judged", "scope_town", "original_due_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    clock: Mapped[str] = mapped_column(String(16), nullable=False)
    # 0 for the appeal's own clocks (triage, consultation, works, feedback); 1.. per assignment.
    hop: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # The round of work (轮次): 1, then one more each time a dissatisfied resident reopens it.
    round: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    unit_type: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    # The town the holding unit belongs to (itself for a town): town lists and escalation targets.
    scope_town: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    original_due_date: Mapped[date] = mapped_column(Date, nullable=False)
    provisional: Mapped[bool] = mapped_column(Boolean, nullable=False)
    rule_version: Mapped[str] = mapped_column(String(32), nullable=False)
    limit_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    limit_value: Mapped[int] = mapped_column(Integer, nullable=False)
    # Working days (working-day limit) or calendar days (months limit) added by pauses so far.
    paused_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # The part of paused_days from pauses that began before the original deadline passed.
    original_paused_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # Days (same unit as paused_days) granted by approved extensions; never in the original deadline.
    extended_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    extensions_allowed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    extensions_used: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    warn_ratio: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("0.8"))
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest escalation (督办) level sent, and when the next one falls (overdue clocks only).
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, server_default=func.now(), onupdate=func.now()
    )


class CalendarYear(Base):
    """A year's official holiday schedule (放假安排) as uploaded by city staff."""

    __tablename__ = "calendar_years"
    __table_args__ = (CheckConstraint("year BETWEEN 2000 AND 2099", name="year"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), nullable=False)
    workdays: Mapped[list[date]] = mapped_column(ARRAY(Date), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, server_default=func.now())
    uploaded_by: Mapped[str] = mapped_column(String(64), nullable=False)


class TrackedAppeal(Base):
    """What the clocks need to know about an appeal; its row is also the appeal's lock.

    Every event handler locks this row first, so two events of one appeal never interleave.
    """

    __tablename__ = "tracked_appeals"
    __table_args__ = (CheckConstraint("kind IN ('micro_project', 'micro_wish')", name="kind"),)

    appeal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(String(16))
    # The appeal's town as triage found it: the town of a station that holds it.
    town_code: Mapped[str | None] = mapped_column(String(16))
    # Set while the appeal is on hold (挂起, waiting for the resident): clocks started then start paused.
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed, rejected, merged or withdrawn: no clock starts any more.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The current round of work, and what its handling clock was chosen by, so that a reopened
    # round is timed by the same row of the table (and the catalogue's time limit).
    round: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    urgency: Mapped[str | None] = mapped_column(String(16))
    track: Mapped[str | None] = mapped_column(String(16))
    policy_code: Mapped[str | None] = mapped_column(String(64))
    policy_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, server_default=func.now(), onupdate=func.now()
    )


class RuleSetRecord(Base):
    """A published clock table (时限规则版本): immutable, in effect from ``effective_from`` on.

    The built-in table (``rules.DEFAULT_RULES``) is in effect before the first row. A clock takes
    the version in effect at its start, so a new version never touches a deadline already issued.
    """

    __tablename__ = "rule_sets"
    __table_args__ = (
        UniqueConstraint("effective_from"),
        CheckConstraint("warn_ratio > 0 AND warn_ratio < 1", name="warn_ratio"),
        CheckConstraint("max_extensions BETWEEN 0 AND 10", name="max_extensions"),
    )

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    base_version: Mapped[str] = mapped_column(String(32), nullable=False)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    warn_ratio: Mapped[float] = mapped_column(Float, nullable=False)
    max_extensions: Mapped[int] = mapped_column(Integer, nullable=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, server_default=func.now())
    published_by: Mapped[str] = mapped_column(String(64), nullable=False)


class Extension(Base):
    """A request for more time (延期申请) by the unit holding a clock, and its decision.

    Asked before the deadline, decided one level up (``approver_type``/``approver_code``, fixed
    when asked). At most one request of a clock waits at a time (partial unique index); the
    clock's ``extensions_used`` counts the approved ones against ``extensions_allowed``.
    """

    __tablename__ = "extensions"
    __table_args__ = (
        CheckConstraint(_in("status", EXTENSION_STATES), name="status"),
        CheckConstraint("days >= 1", name="days"),
        Index(
            "uq_extensions_one_pending",
            "clock_id",
            unique=True,
            postgresql_where=text("status = 'requested'"),
        ),
        # An approver's queue: what waits for them, oldest first.
        Index(
            "ix_extensions_pending_approver",
            "approver_type",
            "approver_code",
            "requested_at",
            postgresql_where=text("status = 'requested'"),
        ),
        Index("ix_extensions_appeal", "appeal_id", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clock_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clocks.id"), nullable=False)
    appeal_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    unit_type: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    scope_town: Mapped[str | None] = mapped_column(String(16))
    approver_type: Mapped[str] = mapped_column(String(16), nullable=False)
    approver_code: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_date_before: Mapped[date] = mapped_column(Date, nullable=False)
    due_date_after: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))


class Reminder(Base):
    """One reminder of one clock at one stage: ``warning`` (预警), ``overdue`` (超期) or
    ``escalation:N`` (the N-th 督办). The primary key is the guard: a stage is sent at most once,
    whatever sweeps or workers overlap."""

    __tablename__ = "reminders"

    clock_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clocks.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(24), primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    level: Mapped[int | None] = mapped_column(Integer)
    target_type: Mapped[str | None] = mapped_column(String(16))
    target_code: Mapped[str | None] = mapped_column(String(64))


class ClockChange(Base):
    """The journal: every change of a clock as announced (``deadline.*``), oldest first per appeal."""

    __tablename__ = "clock_changes"
    __table_args__ = (Index("ix_clock_changes_appeal", "appeal_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    clock_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    appeal_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    original_due_date: Mapped[date] = mapped_column(Date, nullable=False)
    provisional: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
