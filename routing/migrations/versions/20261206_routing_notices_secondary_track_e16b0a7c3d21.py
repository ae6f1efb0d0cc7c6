"""routing: residents' objections to public notices (公示), and a secondary track on triage

`consultation_objections` learns who raised an objection (staff, or a resident by a keyed hash of
their openid) and the resident's idempotency key; `triage_results.secondary_track` holds a top-up
(express or direct) beside a policy benefit.

Revision ID: e16b0a7c3d21
Revises: c44ce9595ec8
Create Date: 2026-12-06 13:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e16b0a7c3d21"
down_revision: str | Sequence[str] | None = "c44ce9595ec8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "consultation_objections",
        sa.Column("by_kind", sa.String(length=12), server_default=sa.text("'staff'"), nullable=False),
        schema="routing",
    )
    op.add_column(
        "consultation_objections", sa.Column("resident_ref", sa.String(length=64), nullable=True), schema="routing"
    )
    op.add_column(
        "triage_results", sa.Column("secondary_track", sa.String(length=16), nullable=True), schema="routing"
    )


def downgrade() -> None:
    op.drop_column("triage_results", "secondary_track", schema="routing")
    for column in ("resident_ref", "by_kind"):
        op.drop_column("consultation_objections", column, schema="routing")
