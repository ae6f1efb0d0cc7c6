"""reference initial: the villages and communities the city imported

The shared kernel's own schema (DESIGN §3: services/common owns the reference data). Imported
rows are laid over the shipped `villages.csv` by every process (`services.common.reference.store`).

Revision ID: e1f2a3b4c5d6
Revises:
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e1f2a3b4c5d6"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("reference",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS reference")
    op.create_table(
        "villages",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("aliases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("grid_prefix", sa.String(length=40), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_villages")),
        schema="reference",
    )
    op.create_index(op.f("ix_reference_villages_town_code"), "villages", ["town_code"], unique=False, schema="reference")


def downgrade() -> None:
    op.drop_index(op.f("ix_reference_villages_town_code"), table_name="villages", schema="reference")
    op.drop_table("villages", schema="reference")
    op.execute("DROP SCHEMA IF EXISTS reference")
