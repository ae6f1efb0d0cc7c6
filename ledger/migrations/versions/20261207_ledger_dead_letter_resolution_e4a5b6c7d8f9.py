"""ledger dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e4a5b6c7d8f9
Revises: d4b8e61f0a25
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from services.migrations.steps import add_dead_letter_resolution, drop_dead_letter_resolution

revision: str = "e4a5b6c7d8f9"
down_revision: str | Sequence[str] | None = "d4b8e61f0a25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_letter_resolution("ledger")


def downgrade() -> None:
    drop_dead_letter_resolution("ledger")
