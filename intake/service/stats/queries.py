"""Reading the counters: a bounded number of rows per question, whatever the number of appeals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import STAT_METRICS, StatCell
from intake.schemas import By, Level, Period
from intake.service.stats import kpi
from intake.service.stats.recorder import fold
from services.common.errors import InvalidInput

PERIOD_CODES: dict[str, str] = {"day": "d", "month": "m", "year": "y"}
_T = cast("Table", StatCell.__table__)


@dataclass(frozen=True)
class Question:
    """One dashboard question: a scope, a period, a breakdown."""

    level: Level
    code: str
    period: Period
    start: date
    by: By = "all"

    def checked(self) -> Question:
        """Normalised: the period's first day, the city's code; a day has no breakdown."""
        if self.level != "city" and not self.code:
            raise InvalidInput("请指定单位代码（code）。", field="code")
        if self.period == "day" and self.by != "all":
            raise InvalidInput("按日统计只提供合计（by=all）。", field="by")
        start = self.start
        if self.period == "month":
            start = start.replace(day=1)
        elif self.period == "year":
            start = start.replace(month=1, day=1)
        return Question(
            self.level, "city" if self.level == "city" else self.code, self.period, start, self.by
        )

    def previous(self) -> Question:
        """The same question one period earlier."""
        s = self.start
        if self.period == "day":
            start = date.fromordinal(s.toordinal() - 1)
        elif self.period == "month":
            start = date(s.year - 1, 12, 1) if s.month == 1 else date(s.year, s.month - 1, 1)
        else:
            start = date(s.year - 1, 1, 1)
        return Question(self.level, self.code, self.period, start, self.by)


async def counters(session: AsyncSession, q: Question) -> dict[str, dict[str, int]]:
    """dim_value -> metric -> sum over shards (after folding the pending deltas)."""
    await fold(session)
    stmt = (
        select(_T.c.dim_value, *[func.sum(_T.c[m]).label(m) for m in STAT_METRICS])
        .where(
            _T.c.period == PERIOD_CODES[q.period],
            _T.c.period_start == q.start,
            _T.c.scope_type == q.level,
            _T.c.scope_code == q.code,
            _T.c.dim == q.by,
        )
        .group_by(_T.c.dim_value)
        .order_by(_T.c.dim_value)
    )
    out: dict[str, dict[str, int]] = {}
    for row in (await session.execute(stmt)).mappings():
        out[str(row["dim_value"])] = {m: int(row[m] or 0) for m in STAT_METRICS}
    return out


def report_rows(counts: dict[str, dict[str, int]]) -> list[dict[str, object]]:
    """One row per dimension value: counts, KPIs and funds."""
    return [
        {"dim_value": value, "counts": c, "kpis": kpi.kpis(c), "funds_fen": kpi.funds(c)}
        for value, c in sorted(counts.items())
    ]


async def scope_cells(
    session: AsyncSession, period: Period, start: date, scope_type: str, dim: str, code_prefix: str | None
) -> dict[tuple[str, str], dict[str, int]]:
    """(scope_code, dim_value) -> metric -> sum, for every scope of a type (e.g. all villages)."""
    await fold(session)
    metrics = ("received", "duplicates", "repeats", "reopened", "dissatisfied")
    stmt = (
        select(_T.c.scope_code, _T.c.dim_value, *[func.sum(_T.c[m]).label(m) for m in metrics])
        .where(
            _T.c.period == PERIOD_CODES[period],
            _T.c.period_start == start,
            _T.c.scope_type == scope_type,
            _T.c.dim == dim,
        )
        .group_by(_T.c.scope_code, _T.c.dim_value)
    )
    if code_prefix:
        stmt = stmt.where(_T.c.scope_code.startswith(code_prefix))
    out: dict[tuple[str, str], dict[str, int]] = {}
    for row in (await session.execute(stmt)).mappings():
        out[(str(row["scope_code"]), str(row["dim_value"]))] = {m: int(row[m] or 0) for m in metrics}
    return out
