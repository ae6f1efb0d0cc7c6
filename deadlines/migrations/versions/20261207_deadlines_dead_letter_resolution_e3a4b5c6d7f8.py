"""deadlines dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e3a4b5c6d7f8
Revises: b2e4f6a8c0d1
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from services.migrations.steps import add_dead_letter_resolution, drop_dead_letter_resolution

revision: str = "e3a4b5c6d7f8"
down_revision: str | Sequence[str] | None = "b2e4f6a8c0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_letter_resolution("deadlines")


def downgrade() -> None:
    drop_dead_letter_resolution("deadlines")
