"""routing donors.register_code

The number the city's own donor register gives a donor, so that importing the register twice
changes nothing and a changed row updates its donor (issue 16.12).

Revision ID: f6a7b8c9d0e1
Revises: e16b0a7c3d21
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a7b8c9d0e1"
down_revision: str | Sequence[str] | None = "e16b0a7c3d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("donors", sa.Column("register_code", sa.String(length=32), nullable=True), schema="routing")
    op.create_unique_constraint(
        op.f("uq_donors_register_code"), "donors", ["register_code"], schema="routing"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_donors_register_code"), "donors", schema="routing", type_="unique")
    op.drop_column("donors", "register_code", schema="routing")
