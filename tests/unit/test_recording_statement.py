"""The recording statement (`intake.service.recording`): built once per shape of rows, every value
a bound parameter (so no resident's words or number is ever part of the SQL text)."""

from __future__ import annotations

from sqlalchemy import Table, create_engine

from intake.models import Reporter, TimelineEntry
from intake.service.recording import _statement, table_of

APPEAL_KEYS = ("id", "ticket_no", "channel", "channel_ref", "title", "description")


def _shape(reporters: int) -> tuple[tuple[int, Table, tuple[str, ...], int], ...]:
    return (
        (0, table_of(Reporter), ("id", "appeal_id", "relation"), reporters),
        (3, table_of(TimelineEntry), ("id", "appeal_id", "at"), 1),
    )


def test_one_statement_per_shape() -> None:
    first = _statement(APPEAL_KEYS, _shape(1))
    assert _statement(APPEAL_KEYS, _shape(1)) is first
    assert _statement(APPEAL_KEYS, _shape(2)) is not first


def test_every_value_is_a_parameter_named_for_its_row() -> None:
    compiled = _statement(APPEAL_KEYS, _shape(2)).compile(
        dialect=create_engine("postgresql+asyncpg://").dialect
    )
    names = set(compiled.params)
    assert {f"a__{k}" for k in APPEAL_KEYS} <= names
    assert {"c0_0__relation", "c0_1__relation", "c3_0__at"} <= names
    sql = str(compiled)
    assert "ON CONFLICT (channel, channel_ref) DO NOTHING" in sql
    assert "rows_0" in sql and "rows_3" in sql and "UNION ALL" in sql
