"""gateway dead letters: whether a job can be replayed, and how a person resolved it

Revision ID: e5a6b7c8d9fa
Revises: d4e5f6a7b8c9
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from services.migrations.steps import add_dead_letter_resolution, drop_dead_letter_resolution

revision: str = "e5a6b7c8d9fa"
down_revision: str | Sequence[str] | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_letter_resolution("gateway")


def downgrade() -> None:
    drop_dead_letter_resolution("gateway")
