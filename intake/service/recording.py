"""Recording an appeal in one statement (one round trip): the appeal's INSERT as a CTE and every
other table's rows selected from it (pure statement building, plus its execution)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnDefault, Select, Table, bindparam, insert, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from intake.models import Appeal


def table_of(model: type[Any]) -> Table:
    """The Core table of an ORM model."""
    return cast("Table", model.__table__)


def column_values(row: Any) -> dict[str, Any]:
    """The column values of a new ORM object, with the columns' Python-side defaults (which an
    INSERT inside a CTE does not apply); the rest are left to the database's defaults."""
    out: dict[str, Any] = {}
    for column in table_of(type(row)).columns:
        value = getattr(row, column.key)
        default = column.default
        if value is None and isinstance(default, ColumnDefault):
            value = default.arg(None) if default.is_callable else default.arg
        if value is not None:
            out[column.key] = value
    return out


async def record_rows(
    session: AsyncSession | AsyncConnection,
    appeal: dict[str, Any],
    children: list[tuple[Table, list[dict[str, Any]]]],
) -> bool:
    """Insert the appeal and its rows in one statement (one round trip); False when the appeal's
    (channel, channel_ref) is already recorded, and then nothing is inserted.

    The appeal's INSERT ... ON CONFLICT DO NOTHING is a CTE; every other table's rows are selected
    from it, so they exist exactly when it returned its row."""
    appeal_keys = tuple(appeal)
    shapes: list[tuple[int, Table, tuple[str, ...], int]] = []
    params: dict[str, Any] = {f"a__{k}": v for k, v in appeal.items()}
    for n, (table, rows) in enumerate(children):
        if not rows:
            continue
        order = list(table.c.keys())
        names = tuple(sorted({k for r in rows for k in r}, key=order.index))
        shapes.append((n, table, names, len(rows)))
        for i, row in enumerate(rows):
            params.update({f"c{n}_{i}__{k}": row.get(k) for k in names})
    found = await session.execute(_statement(appeal_keys, tuple(shapes)), params)
    return found.first() is not None


@lru_cache(maxsize=512)
def _statement(
    appeal_keys: tuple[str, ...], shapes: tuple[tuple[int, Table, tuple[str, ...], int], ...]
) -> Select[tuple[uuid.UUID]]:
    """The recording statement for one shape of rows (which columns, how many rows per table),
    every value a bound parameter: built once per shape instead of once per call (building it
    from literals was a quarter of a recording's CPU), so its compiled form and prepared
    statement are reused too."""
    appeals = table_of(Appeal)
    inserted = (
        pg_insert(appeals)
        .values({k: bindparam(f"a__{k}", type_=appeals.c[k].type) for k in appeal_keys})
        .on_conflict_do_nothing(index_elements=[appeals.c.channel, appeals.c.channel_ref])
        .returning(appeals.c.id)
        .cte("recorded")
    )
    ctes = []
    for n, table, names, many in shapes:
        selects = [
            select(*[bindparam(f"c{n}_{i}__{k}", type_=table.c[k].type).label(k) for k in names]).select_from(
                inserted
            )
            for i in range(many)
        ]
        source = selects[0] if many == 1 else union_all(*selects)
        ctes.append(insert(table).from_select(list(names), source, include_defaults=False).cte(f"rows_{n}"))
    return select(inserted.c.id).add_cte(*ctes)
