"""Statistics (统计): counters folded from append-only deltas, and the arrivals not yet analysed."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import Base
from services.common.db import UTCDateTime

STAT_METRICS: tuple[str, ...] = (
    "received",
    "duplicates",
    "repeats",
    "signoff_due",
    "signoff_on_time",
    "handling_due",
    "handling_on_time",
    "completed",
    "completed_first",
    "completed_redone",
    "handling_seconds",
    "closed",
    "closed_first_time",
    "closed_unrated",
    "evaluated",
    "resolved",
    "partly_resolved",
    "not_resolved",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "reopened",
    "returned",
    "rejected",
    "withdrawn",
    "funds_city_finance",
    "funds_city_charity",
    "funds_town_matching",
    "funds_village_collective",
    "funds_donation",
    "funds_other",
)


class StatCell(Base):
    """Pre-aggregated counters (统计): one row per period, scope, dimension value and shard.

    Folded from `stat_deltas` in batches (a change never updates a row here itself); a dashboard
    reads a bounded number of rows whatever the number of appeals. `shard` is 0 for folded rows
    (older rows may carry the shards that once spread the hot city and town rows).
    """

    __tablename__ = "stat_cells"

    period: Mapped[str] = mapped_column(String(1), primary_key=True)  # d | m | y
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    scope_type: Mapped[str] = mapped_column(String(16), primary_key=True)  # city | town | village | unit
    scope_code: Mapped[str] = mapped_column(String(48), primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)  # all | kind | category | channel
    dim_value: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)


for _metric in STAT_METRICS:
    cast("Table", StatCell.__table__).append_column(
        Column(_metric, BigInteger, nullable=False, server_default="0")
    )


class PendingArrival(Base):
    """An appeal recorded and not yet analysed (duplicates, counters): written in the recording
    transaction, removed by the worker's `after_received` in the transaction of its effects. Each
    town's arrivals are analysed in the order they were received (`intake.service.records`)."""

    __tablename__ = "pending_arrivals"
    __table_args__ = (Index("ix_pending_arrivals_town_received", "town_key", "received_at"),)

    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    town_key: Mapped[str] = mapped_column(String(16))  # the town code, "-" when not known yet
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the counters count it under: the appeal as its channel recorded it.
    channel: Mapped[str] = mapped_column(String(32))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))


class StatDelta(Base):
    """An append-only counter delta: what one change adds to one cell of `stat_cells`.

    A change only INSERTs here (no row it could wait on); the folder
    (`intake.service.stats.recorder.fold`) sums batches of deltas into `stat_cells` under one lock,
    and the statistics reads fold what is pending first, so they answer every committed change.
    """

    __tablename__ = "stat_deltas"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(1))
    period_start: Mapped[date] = mapped_column(Date)
    scope_type: Mapped[str] = mapped_column(String(16))
    scope_code: Mapped[str] = mapped_column(String(48))
    dim: Mapped[str] = mapped_column(String(16))
    dim_value: Mapped[str] = mapped_column(String(32))


for _metric in STAT_METRICS:
    cast("Table", StatDelta.__table__).append_column(
        Column(_metric, BigInteger, nullable=False, server_default="0")
    )


# Demand analysis (`intake.service.stats.demand`) reads every village × category cell of two months: this
# partial covering index holds them with the three counters it reads, so it reads a few index pages
# instead of one heap page per cell (bench/stats_scale.py).
_stat_cells = cast("Table", StatCell.__table__)
Index(
    "ix_stat_cells_demand",
    _stat_cells.c.period,
    _stat_cells.c.period_start,
    _stat_cells.c.scope_code,
    _stat_cells.c.dim_value,
    postgresql_include=["received", "duplicates", "repeats"],
    postgresql_where=text("scope_type = 'village' AND dim = 'category'"),
)
