"""routing dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e2a3b4c5d6f7
Revises: b7c1d9e3f5a2
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from services.migrations.steps import add_dead_letter_resolution, drop_dead_letter_resolution

revision: str = "e2a3b4c5d6f7"
down_revision: str | Sequence[str] | None = "b7c1d9e3f5a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_letter_resolution("routing")


def downgrade() -> None:
    drop_dead_letter_resolution("routing")
