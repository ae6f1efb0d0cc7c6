"""Add to the counters in the caller's transaction (one multi-row upsert per fact)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import IntakeSettings
from intake.models import STAT_METRICS, Appeal, StatCell
from intake.service.stats.cells import ALL_DIMS, Dim, Facts, cells
from services.common.settings import get_settings
from services.common.timeutil import to_local

_TABLE = cast("Table", StatCell.__table__)


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
    """Add `deltas` (metric -> amount) to every cell of the fact at `at` (local date)."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    unknown = set(deltas) - set(STAT_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}")
    shards = get_settings(IntakeSettings).stat_shards
    # One shard for the whole transaction: its statements then lock rows in one consistent order
    # with any other transaction's (no lock cycles between the counters of two changes).
    shard = session.info.setdefault("stat_shard", random.randrange(shards))
    keys = cells(facts, to_local(at).date(), dims=dims, scope_types=scope_types, shards=shards, shard=shard)
    if not keys:
        return  # e.g. a triage that found neither town nor village: no new scope to count under
    rows = [
        {
            "period": c.period,
            "period_start": c.period_start,
            "scope_type": c.scope_type,
            "scope_code": c.scope_code,
            "dim": c.dim,
            "dim_value": c.dim_value,
            "shard": c.shard,
            **deltas,
        }
        for c in keys
    ]
    if not rows:
        return  # e.g. a village scope asked for while the village is still unknown: nothing to count
    stmt = pg_insert(_TABLE).values(rows)
    stmt = stmt.on_conflict_do_update(
        constraint=_TABLE.primary_key,
        set_={m: _TABLE.c[m] + stmt.excluded[m] for m in deltas},
    )
    await session.execute(stmt)
