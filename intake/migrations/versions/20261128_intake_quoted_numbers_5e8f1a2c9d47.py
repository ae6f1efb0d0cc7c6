"""intake quoted numbers

Phone and ID numbers written in an appeal's words are stored masked in the text; the full
numbers are kept apart, Fernet-encrypted with a keyed lookup hash beside them, one row each, and
leave only through the audited reveal (DESIGN §7).

Revision ID: 5e8f1a2c9d47
Revises: 3d9a41c2b7e5
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e8f1a2c9d47"
down_revision: str | Sequence[str] | None = "3d9a41c2b7e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quoted_numbers",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("masked", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_quoted_numbers_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quoted_numbers")),
        sa.UniqueConstraint(
            "appeal_id", "kind", "ordinal", name=op.f("uq_quoted_numbers_appeal_id_kind_ordinal")
        ),
        schema="intake",
    )
    op.create_index(
        "ix_quoted_numbers_value_hash", "quoted_numbers", ["value_hash"], unique=False, schema="intake"
    )


def downgrade() -> None:
    op.drop_index("ix_quoted_numbers_value_hash", table_name="quoted_numbers", schema="intake")
    op.drop_table("quoted_numbers", schema="intake")
