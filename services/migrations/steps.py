"""Migration steps that every service takes alike on the tables `services.common.messaging`
declares in each schema. A step, once released, is never edited: a later change is a new one,
so that a migration written against it still does what it did."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_dead_letter_resolution(schema: str) -> None:
    """2026-12-07: whether a dead letter can be replayed, and how a person resolved it."""
    op.add_column(
        "dead_letters",
        sa.Column("replayable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=schema,
    )
    op.add_column("dead_letters", sa.Column("resolution", sa.String(length=16), nullable=True), schema=schema)
    op.add_column(
        "dead_letters", sa.Column("resolved_by", sa.String(length=100), nullable=True), schema=schema
    )
    op.add_column("dead_letters", sa.Column("note", sa.Text(), nullable=True), schema=schema)
    # Events carry no personal numbers (free text leaves intake masked), so a parked event can run
    # again as kept; whether any other job's arguments were changed by masking is not known.
    op.execute(f"UPDATE {schema}.dead_letters SET replayable = true WHERE job_name LIKE '%.handle_event'")


def drop_dead_letter_resolution(schema: str) -> None:
    """Undo `add_dead_letter_resolution`."""
    for column in ("note", "resolved_by", "resolution", "replayable"):
        op.drop_column("dead_letters", column, schema=schema)
