"""Counting (统计) without hot rows: a change appends its deltas, a folder sums them in batches.

`count` only INSERTs into `stat_deltas`, in the caller's transaction: concurrent appeals never wait
on each other's counter rows (the city and town rows every change touches). `fold` moves pending
deltas into `stat_cells`, one batch per statement, under one advisory lock, so the folded rows have
a single writer and no lock cycle. The intake worker folds every second; each statistics read folds
what is pending first, so it answers every change committed before it, exactly as when the cells
were updated in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import STAT_METRICS, Appeal, StatCell, StatDelta
from intake.service.stats.cells import ALL_DIMS, Dim, Facts, cells
from services.common.timeutil import to_local

_DELTAS = cast("Table", StatDelta.__table__)
_CELLS = cast("Table", StatCell.__table__)
# pg_advisory_xact_lock key of the folder ("intake.stat_cells" folded by one writer at a time).
FOLD_LOCK = 0x14A57A7
FOLD_BATCH = 5000

_KEY = "period, period_start, scope_type, scope_code, dim, dim_value"
_FOLD_SQL = text(
    f"""
WITH batch AS (
    DELETE FROM intake.stat_deltas
    WHERE id IN (SELECT id FROM intake.stat_deltas ORDER BY id LIMIT :batch)
    RETURNING {_KEY}, {", ".join(STAT_METRICS)}
)
INSERT INTO intake.stat_cells ({_KEY}, shard, {", ".join(STAT_METRICS)})
SELECT {_KEY}, 0, {", ".join(f"sum({m})" for m in STAT_METRICS)}
FROM batch GROUP BY {_KEY} ORDER BY {_KEY}
ON CONFLICT ON CONSTRAINT pk_stat_cells DO UPDATE SET
{", ".join(f"{m} = stat_cells.{m} + excluded.{m}" for m in STAT_METRICS)}
"""
)


def facts_of(appeal: Appeal) -> Facts:
    """The appeal as the counters see it now."""
    return Facts(
        channel=appeal.channel,
        kind=appeal.kind,
        category=appeal.category,
        town_code=appeal.town_code,
        village_code=appeal.village_code,
        holder_type=appeal.holder_type,
        holder_code=appeal.holder_code,
    )


async def count(
    session: AsyncSession,
    facts: Facts,
    at: datetime,
    deltas: Mapping[str, int],
    *,
    dims: Iterable[Dim] = ALL_DIMS,
    scope_types: Iterable[str] | None = None,
) -> None:
    """Add `deltas` (metric -> amount) to every cell of the fact at `at` (local date): appended to
    `stat_deltas` in the caller's transaction, folded into the cells later."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    unknown = set(deltas) - set(STAT_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}")
    keys = cells(facts, to_local(at).date(), dims=dims, scope_types=scope_types, shards=1)
    rows = [
        {
            "period": c.period,
            "period_start": c.period_start,
            "scope_type": c.scope_type,
            "scope_code": c.scope_code,
            "dim": c.dim,
            "dim_value": c.dim_value,
            **deltas,
        }
        for c in keys
    ]
    if not rows:
        return  # e.g. a triage that found neither town nor village: nothing to count
    await session.execute(insert(_DELTAS), rows)


async def fold(session: AsyncSession, *, batch: int = FOLD_BATCH) -> int:
    """Sum every pending delta into `stat_cells` in the caller's transaction; returns how many cell
    rows it added to. Waits for a fold running elsewhere, so what that one folded is seen too."""
    pending = await session.scalar(text("SELECT EXISTS (SELECT 1 FROM intake.stat_deltas)"))
    if not pending:
        return 0
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK})
    folded = 0
    while True:
        result = await session.execute(_FOLD_SQL, {"batch": batch})
        moved = int(getattr(result, "rowcount", 0) or 0)
        if moved == 0:
            return folded
        folded += moved
