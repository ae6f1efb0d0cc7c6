"""gateway feedback in lifecycle order: each delivery keeps when its change happened and where from

Residents were told "方案已定" before "已分拣" when workers took the changes out of order
(issue 16.5). A delivery now keeps the time of its change (`occurred_at`) and, for a status
change, the status it left (`from_status`), so a change is planned only after the one before it
and sent only after every earlier message to the same person.

Revision ID: c3f81e52d94a
Revises: 3a16b2c4d5e6
Create Date: 2026-12-06 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3f81e52d94a"
down_revision: str | Sequence[str] | None = "3a16b2c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "feedback_deliveries",
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        schema="gateway",
    )
    op.add_column(
        "feedback_deliveries", sa.Column("from_status", sa.String(length=16), nullable=True), schema="gateway"
    )
    op.create_index(
        "ix_feedback_deliveries_appeal_order",
        "feedback_deliveries",
        ["appeal_id", "occurred_at"],
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_deliveries_appeal_order", table_name="feedback_deliveries", schema="gateway")
    op.drop_column("feedback_deliveries", "from_status", schema="gateway")
    op.drop_column("feedback_deliveries", "occurred_at", schema="gateway")
