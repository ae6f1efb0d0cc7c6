"""intake stat_cells demand index

A partial covering index for demand analysis (`intake.stats.demand`): the village × category
cells of a period, with the three counters it reads, so the report reads a few index pages
instead of one heap page per cell.

Revision ID: 3d9a41c2b7e5
Revises: 7b7ce236ef66
Create Date: 2026-11-27 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d9a41c2b7e5"
down_revision: str | Sequence[str] | None = "7b7ce236ef66"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_stat_cells_demand",
        "stat_cells",
        ["period", "period_start", "scope_code", "dim_value"],
        unique=False,
        schema="intake",
        postgresql_include=["received", "duplicates", "repeats"],
        postgresql_where=sa.text("scope_type = 'village' AND dim = 'category'"),
    )


def downgrade() -> None:
    op.drop_index("ix_stat_cells_demand", table_name="stat_cells", schema="intake")
