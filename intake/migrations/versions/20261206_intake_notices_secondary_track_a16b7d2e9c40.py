"""intake: public notices (公示) of consultations, and the secondary track of an appeal

`appeal_notices` projects routing's `consultation.changed` (the meeting, attendance, votes on
the five points, the notice period and its outcome) for disclosure, the public status and the
public notice list; `appeals.secondary_track` holds a top-up beside a policy benefit.

Revision ID: a16b7d2e9c40
Revises: b4c1d2e3f5a6
Create Date: 2026-12-06 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a16b7d2e9c40"
down_revision: str | Sequence[str] | None = "b4c1d2e3f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("secondary_track", sa.String(length=16), nullable=True), schema="intake")
    op.create_table(
        "appeal_notices",
        sa.Column("consultation_id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_appeal_notices_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_appeal_notices")),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_appeal_notices_appeal_id"), "appeal_notices", ["appeal_id"], unique=False, schema="intake"
    )
    op.create_index("ix_appeal_notices_held_at", "appeal_notices", ["held_at"], unique=False, schema="intake")
    op.create_index(
        "ix_appeal_notices_notice_ends_at",
        "appeal_notices",
        ["notice_ends_at"],
        unique=False,
        schema="intake",
        postgresql_where=sa.text("state = 'notice'"),
    )


def downgrade() -> None:
    op.drop_table("appeal_notices", schema="intake")
    op.drop_column("appeals", "secondary_track", schema="intake")
