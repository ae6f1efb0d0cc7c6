"""gateway staff notifications (issue 16.2)

`staff_notifications` (one per event, kind and unit), `staff_notification_reads` (per member of
staff), and the optional push channels of a staff account (`phone_enc`, `openid`).

Revision ID: 3a16b2c4d5e6
Revises: 5e1c2a9d7b30
Create Date: 2026-12-06 13:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a16b2c4d5e6"
down_revision: str | Sequence[str] | None = "5e1c2a9d7b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("staff_accounts", sa.Column("phone_enc", sa.LargeBinary(), nullable=True), schema="gateway")
    op.add_column("staff_accounts", sa.Column("openid", sa.String(length=64), nullable=True), schema="gateway")
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_no", sa.String(length=32), nullable=True),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        schema="gateway",
    )
    op.create_index(
        "ix_staff_notifications_unit",
        "staff_notifications",
        ["unit_type", "unit_code", "created_at"],
        unique=False,
        schema="gateway",
    )
    op.create_table(
        "staff_notification_reads",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["gateway.staff_notifications.id"],
            name=op.f("fk_staff_notification_reads_notification_id_staff_notifications"),
        ),
        sa.PrimaryKeyConstraint("notification_id", "staff_id", name=op.f("pk_staff_notification_reads")),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_table("staff_notification_reads", schema="gateway")
    op.drop_index("ix_staff_notifications_unit", table_name="staff_notifications", schema="gateway")
    op.drop_table("staff_notifications", schema="gateway")
    op.drop_column("staff_accounts", "openid", schema="gateway")
    op.drop_column("staff_accounts", "phone_enc", schema="gateway")
