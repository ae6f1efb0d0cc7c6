"""deadlines: a clock per round of work (重新办理), and the facts a redone round is timed by.

Revision ID: d16c0a7e1f02
Revises: 0461bcf18fd6
Create Date: 2026-12-06 13:40:00

Written by hand. A reopened appeal (round 2) gets its own handling and feedback clocks, so a
clock is unique per (appeal, clock, hop, round); every existing clock is round 1. The tracked
appeal keeps its round and what its handling clock was chosen by (urgency, track, policy and
the catalogue's time limit), so that the redone round is timed by the same row of the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d16c0a7e1f02"
down_revision: str | Sequence[str] | None = "0461bcf18fd6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "deadlines"


def upgrade() -> None:
    op.add_column(
        "clocks", sa.Column("round", sa.Integer(), server_default=sa.text("1"), nullable=False), schema=SCHEMA
    )
    op.create_check_constraint(op.f("ck_clocks_round"), "clocks", "round >= 1", schema=SCHEMA)
    op.drop_constraint("uq_clocks_appeal_id_clock_hop", "clocks", type_="unique", schema=SCHEMA)
    op.create_unique_constraint(
        op.f("uq_clocks_appeal_id_clock_hop_round"),
        "clocks",
        ["appeal_id", "clock", "hop", "round"],
        schema=SCHEMA,
    )
    op.add_column(
        "tracked_appeals",
        sa.Column("round", sa.Integer(), server_default=sa.text("1"), nullable=False),
        schema=SCHEMA,
    )
    op.add_column("tracked_appeals", sa.Column("urgency", sa.String(length=16), nullable=True), schema=SCHEMA)
    op.add_column("tracked_appeals", sa.Column("track", sa.String(length=16), nullable=True), schema=SCHEMA)
    op.add_column(
        "tracked_appeals", sa.Column("policy_code", sa.String(length=64), nullable=True), schema=SCHEMA
    )
    op.add_column("tracked_appeals", sa.Column("policy_days", sa.Integer(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    for column in ("policy_days", "policy_code", "track", "urgency", "round"):
        op.drop_column("tracked_appeals", column, schema=SCHEMA)
    op.drop_constraint("uq_clocks_appeal_id_clock_hop_round", "clocks", type_="unique", schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.clocks WHERE round > 1")
    op.create_unique_constraint(
        op.f("uq_clocks_appeal_id_clock_hop"), "clocks", ["appeal_id", "clock", "hop"], schema=SCHEMA
    )
    op.drop_constraint("ck_clocks_round", "clocks", type_="check", schema=SCHEMA)
    op.drop_column("clocks", "round", schema=SCHEMA)
