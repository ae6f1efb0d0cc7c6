"""routing appeal facts: the unit complained about (保密) and how the appeal ended (issue 15)

Revision ID: d5e7a1c3b9f2
Revises: f6a7b8c9d0e1
Create Date: 2026-12-06 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5e7a1c3b9f2"
down_revision: str | Sequence[str] | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appeal_facts",
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("complained_unit_type", sa.String(length=16), nullable=True),
        sa.Column("complained_unit_code", sa.String(length=32), nullable=True),
        sa.Column("ended_as", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_appeal_facts")),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("appeal_facts", schema="routing")
