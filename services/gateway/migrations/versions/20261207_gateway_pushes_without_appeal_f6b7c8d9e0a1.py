"""gateway feedback deliveries: a staff push about no appeal (a parked job of no appeal)

Revision ID: f6b7c8d9e0a1
Revises: e5a6b7c8d9fa
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6b7c8d9e0a1"
down_revision: str | Sequence[str] | None = "e5a6b7c8d9fa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A job parked with no appeal (a sweep, a relay) is pushed to the city's administrators too;
    # its delivery has no appeal to be ordered within.
    op.alter_column("feedback_deliveries", "appeal_id", existing_type=sa.Uuid(), nullable=True, schema="gateway")


def downgrade() -> None:
    op.execute("DELETE FROM gateway.feedback_deliveries WHERE appeal_id IS NULL")
    op.alter_column("feedback_deliveries", "appeal_id", existing_type=sa.Uuid(), nullable=False, schema="gateway")
