"""deadlines dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e3a4b5c6d7f8
Revises: b2e4f6a8c0d1
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3a4b5c6d7f8"
down_revision: str | Sequence[str] | None = "b2e4f6a8c0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "dead_letters",
        sa.Column("replayable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="deadlines",
    )
    op.add_column("dead_letters", sa.Column("resolution", sa.String(length=16), nullable=True), schema="deadlines")
    op.add_column("dead_letters", sa.Column("resolved_by", sa.String(length=100), nullable=True), schema="deadlines")
    op.add_column("dead_letters", sa.Column("note", sa.Text(), nullable=True), schema="deadlines")
    # Events carry no personal numbers (free text leaves intake masked), so a parked event can run
    # again as kept; whether any other job's arguments were changed by masking is not known.
    op.execute("UPDATE deadlines.dead_letters SET replayable = true WHERE job_name LIKE '%.handle_event'")


def downgrade() -> None:
    for column in ("note", "resolved_by", "resolution", "replayable"):
        op.drop_column("dead_letters", column, schema="deadlines")
