"""intake dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e1a2b3c4d5f6
Revises: 5c3e8a1d9b27
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from services.migrations.steps import add_dead_letter_resolution, drop_dead_letter_resolution

revision: str = "e1a2b3c4d5f6"
down_revision: str | Sequence[str] | None = "5c3e8a1d9b27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_letter_resolution("intake")


def downgrade() -> None:
    drop_dead_letter_resolution("intake")
