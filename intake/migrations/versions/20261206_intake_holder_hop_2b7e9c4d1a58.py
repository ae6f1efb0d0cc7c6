"""intake: the hop (交办) intake last applied, and what for

`appeals.holder_hop` and `appeals.holder_purpose` come from routing's `appeal.assigned`. A sign-off
(签收) names its hop: one for a hop intake has not applied yet, or for the hop that carries out a
plan whose approval intake has not heard yet, waits for it instead of being dropped (an appeal
left `approved` that nobody could start). Old appeals keep NULL: no check for them.

Revision ID: 2b7e9c4d1a58
Revises: c14d0c5a7e11
Create Date: 2026-12-06 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2b7e9c4d1a58"
down_revision: str | Sequence[str] | None = "c14d0c5a7e11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("holder_hop", sa.Integer(), nullable=True), schema="intake")
    op.add_column("appeals", sa.Column("holder_purpose", sa.String(length=16), nullable=True), schema="intake")


def downgrade() -> None:
    op.drop_column("appeals", "holder_purpose", schema="intake")
    op.drop_column("appeals", "holder_hop", schema="intake")
