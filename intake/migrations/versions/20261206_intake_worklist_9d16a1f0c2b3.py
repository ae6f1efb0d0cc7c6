"""intake work list projection (issue 16.1)

`appeals.next_due_at` (the earliest deadline of a running or overdue clock) and `appeals.overdue`,
kept from the deadlines' events, and the indexes the staff work list pages by (the whole city, a
town, a village, a holding unit). Backfilled from the
clocks intake already projects (`appeal_deadlines`).

Revision ID: 9d16a1f0c2b3
Revises: a16b7d2e9c40
Create Date: 2026-12-06 13:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d16a1f0c2b3"
down_revision: str | Sequence[str] | None = "a16b7d2e9c40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The list's sort key, as `intake.models.DUE_KEY_SQL` (a migration keeps its own copy).
DUE_KEY_SQL = "coalesce(next_due_at, 'infinity'::timestamp with time zone)"
# Each scope reads its own rows in the list's order (bench/worklist_scale.py).
SCOPED: dict[str, list[str]] = {
    "ix_appeals_worklist_town": ["town_code"],
    "ix_appeals_worklist_village": ["village_code"],
    "ix_appeals_worklist_holder": ["holder_type", "holder_code"],
}


def upgrade() -> None:
    op.add_column("appeals", sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True), schema="intake")
    op.add_column(
        "appeals",
        sa.Column("overdue", sa.Boolean(), server_default="false", nullable=False),
        schema="intake",
    )
    op.execute(
        """
        UPDATE intake.appeals a
           SET next_due_at = d.next_due_at, overdue = d.overdue
          FROM (SELECT appeal_id,
                       min(due_at) FILTER (WHERE state IN ('running', 'overdue')) AS next_due_at,
                       coalesce(bool_or(state = 'overdue'), false) AS overdue
                  FROM intake.appeal_deadlines GROUP BY appeal_id) d
         WHERE d.appeal_id = a.id
        """
    )
    op.create_index(
        "ix_appeals_worklist",
        "appeals",
        [sa.text(DUE_KEY_SQL), "received_at", "id"],
        unique=False,
        schema="intake",
    )
    for name, scope in SCOPED.items():
        op.create_index(
            name,
            "appeals",
            [*scope, sa.text(DUE_KEY_SQL), "received_at", "id"],
            unique=False,
            schema="intake",
        )


def downgrade() -> None:
    for name in SCOPED:
        op.drop_index(name, table_name="appeals", schema="intake")
    op.drop_index("ix_appeals_worklist", table_name="appeals", schema="intake")
    op.drop_column("appeals", "overdue", schema="intake")
    op.drop_column("appeals", "next_due_at", schema="intake")
