"""gateway dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e5a6b7c8d9fa
Revises: d4e5f6a7b8c9
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a6b7c8d9fa"
down_revision: str | Sequence[str] | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "dead_letters",
        sa.Column("replayable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="gateway",
    )
    op.add_column("dead_letters", sa.Column("resolution", sa.String(length=16), nullable=True), schema="gateway")
    op.add_column("dead_letters", sa.Column("resolved_by", sa.String(length=100), nullable=True), schema="gateway")
    op.add_column("dead_letters", sa.Column("note", sa.Text(), nullable=True), schema="gateway")
    # Events carry no personal numbers (free text leaves intake masked), so a parked event can run
    # again as kept; whether any other job's arguments were changed by masking is not known.
    op.execute("UPDATE gateway.dead_letters SET replayable = true WHERE job_name LIKE '%.handle_event'")


def downgrade() -> None:
    for column in ("note", "resolved_by", "resolution", "replayable"):
        op.drop_column("dead_letters", column, schema="gateway")
