"""intake stat deltas and pending arrivals: the work after an appeal's recording commit

`pending_arrivals`: appeals recorded and not yet analysed (duplicates, counters); the worker
analyses each town's arrivals in the order they were received and removes the row.

A change no longer updates the hot counter rows of `stat_cells` in its own transaction (concurrent
appeals waited on each other's city and town rows): it appends its deltas here, and the folder
sums them into `stat_cells` (`intake.service.stats.recorder.fold`).

Revision ID: f14a5d3e7c21
Revises: e3a9c7d1f402
Create Date: 2026-12-06 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "f14a5d3e7c21"
down_revision: str | Sequence[str] | None = "e3a9c7d1f402"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counters of `intake.models.STAT_METRICS` as of this revision (a migration does not follow the
# model).
STAT_METRICS = (
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


def upgrade() -> None:
    op.create_table(
        "stat_deltas",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=1), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("scope_type", sa.String(length=16), nullable=False),
        sa.Column("scope_code", sa.String(length=48), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("dim_value", sa.String(length=32), nullable=False),
        *[sa.Column(m, sa.BigInteger(), server_default="0", nullable=False) for m in STAT_METRICS],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_deltas")),
        schema="intake",
    )
    op.create_table(
        "pending_arrivals",
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("town_key", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_pending_arrivals_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_pending_arrivals")),
        schema="intake",
    )
    op.create_index(
        "ix_pending_arrivals_town_received",
        "pending_arrivals",
        ["town_key", "received_at"],
        unique=False,
        schema="intake",
    )


def downgrade() -> None:
    op.drop_index("ix_pending_arrivals_town_received", table_name="pending_arrivals", schema="intake")
    op.drop_table("pending_arrivals", schema="intake")
    op.drop_table("stat_deltas", schema="intake")
