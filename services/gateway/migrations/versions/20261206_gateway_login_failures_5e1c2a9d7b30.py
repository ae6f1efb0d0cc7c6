"""gateway login failures per (username, source)

The lock-out moves from the account (anyone could lock `admin` for everyone, and a locked account
answered differently from an unknown one) to each (username, client address) pair, with back-off.

Revision ID: 5e1c2a9d7b30
Revises: 8b3d6f0e2a15
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1c2a9d7b30"
down_revision: str | Sequence[str] | None = "8b3d6f0e2a15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("username", "source", name=op.f("pk_login_failures")),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_table("login_failures", schema="gateway")
