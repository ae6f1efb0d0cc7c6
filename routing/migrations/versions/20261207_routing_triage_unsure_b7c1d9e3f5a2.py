"""routing triage: whether the model was unsure, apart from whether a place was found

Revision ID: b7c1d9e3f5a2
Revises: a1d3e5f7b9c2
Create Date: 2026-12-07 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c1d9e3f5a2"
down_revision: str | Sequence[str] | None = "a1d3e5f7b9c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "triage_results",
        sa.Column("unsure", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="routing",
    )
    # The classifier wrote its doubt into the explanations; a person's later decision cleared
    # needs_manual but not them.
    op.execute(
        "UPDATE routing.triage_results SET unsure = true "
        """WHERE explanations @> '[{"rule": "needs_manual"}]'::jsonb"""
    )


def downgrade() -> None:
    op.drop_column("triage_results", "unsure", schema="routing")
