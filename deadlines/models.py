"""The deadlines service's tables, in its own ``deadlines`` schema.

``clocks`` holds one row per timed step of an appeal (a clock, 计时); ``calendar_years`` the
official holiday schedules uploaded by city staff; ``tracked_appeals`` the few facts about an
appeal that the clocks depend on (received, kind, on hold, ended), so events that arrive out of
order can be told apart from events that never will.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Declarative base bound to the ``deadlines`` schema."""

    metadata = service_metadata("deadlines")


messaging = messaging_tables(Base.metadata)

CLOCK_NAMES = ("triage", "sign_off", "handling", "consultation", "works", "feedback")
CLOCK_STATES = ("running", "paused", "met", "overdue", "stopped")
# Clocks that can still change: the sweep, pauses and recomputations look only at these.
ACTIVE_STATES = ("running", "paused", "overdue")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Clock(Base):
    """One deadline clock of one appeal, for one hop (交办环节), charged to one unit.

    ``due_date`` is a local date: the deadline is the end of that day, Asia/Shanghai; ``due_at``
    is that instant in UTC, kept beside it so the sweep compares timestamps through an index.
    ``original_due_date`` is the due date before pauses and extensions (延期), for the on-time rate.
    """

    __tablename__ = "clocks"
    __table_args__ = (
        # A replayed or re-sent start finds its clock already there and does nothing.
        UniqueConstraint("appeal_id", "clock", "hop"),
        CheckConstraint(_in("clock", CLOCK_NAMES), name="clock"),
        CheckConstraint(_in("state", CLOCK_STATES), name="state"),
        CheckConstraint(_in("limit_kind", ("working_days", "months")), name="limit_kind"),
        CheckConstraint("limit_value >= 1", name="limit_value"),
        CheckConstraint("hop >= 0", name="hop"),
        CheckConstraint("paused_days >= 0", name="paused_days"),
        # The sweep reads only clocks that can still become due, however many have finished.
        Index("ix_clocks_due_active", "due_at", postgresql_where=text("state IN ('running', 'overdue')")),
        Index(
            "ix_clocks_warn_pending",
            "warn_at",
            postgresql_where=text("warned_at IS NULL AND state = 'running'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    clock: Mapped[str] = mapped_column(String(16), nullable=False)
    # 0 for the appeal's own clocks (triage, consultation, works, feedback); 1.. per assignment.
    hop: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    unit_type: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(64))
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
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    # Set while the appeal is on hold (挂起, waiting for the resident): clocks started then start paused.
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed, rejected, merged or withdrawn: no clock starts any more.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, server_default=func.now(), onupdate=func.now()
    )
