"""需求分析 demand analysis over the counters (DESIGN §1 "demand analysis"): where needs gather.

- hot spots: the villages and categories with the most appeals in the period;
- rising: village × category pairs with clearly more appeals than in the previous period
  (at least `MIN_RISING`, and half as many again as before, or new);
- repeat places: villages where the same category keeps coming back — duplicates and repeats of
  the same person within the period, or a category that was busy there in both periods.

Each list is ranked and cut to `TOP` by the database over the month's village × category cells
(bounded by villages × categories, whatever the number of appeals) in one scan, so only the
answer travels. The scan is an index-only scan of `ix_stat_cells_demand` (partial, covering the
three counters read): a few index pages rather than one heap page per cell.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from intake.schemas import DemandReport, Period, Spot
from intake.service.public import village_name
from intake.service.stats.kpi import change
from intake.service.stats.queries import PERIOD_CODES, Question
from intake.service.stats.recorder import fold
from services.common import scope
from services.contracts.vocabulary import CATEGORY_NAMES

TOP = 20
MIN_RISING = 3


def is_rising(received: int, previous: int) -> bool:
    """The rule of the `rising` list (pure, mirrored by `_DEMAND_SQL`)."""
    return received >= MIN_RISING and (previous == 0 or received >= 1.5 * previous)


def is_repeat_place(received: int, previous: int, duplicates: int, repeats: int) -> bool:
    """The rule of the `repeat places` list (pure, mirrored by `_DEMAND_SQL`)."""
    return duplicates + repeats >= 2 or (previous >= MIN_RISING and received >= MIN_RISING)


_DEMAND_SQL = """
WITH c AS MATERIALIZED (
    SELECT scope_code AS village, dim_value AS category,
           coalesce(sum(received) FILTER (WHERE period_start = :now), 0) AS received,
           coalesce(sum(received) FILTER (WHERE period_start = :before), 0) AS previous,
           coalesce(sum(duplicates) FILTER (WHERE period_start = :now), 0) AS duplicates,
           coalesce(sum(repeats) FILTER (WHERE period_start = :now), 0) AS repeats
    FROM intake.stat_cells
    WHERE period = :period AND period_start IN (:now, :before) AND scope_type = 'village'
      AND dim = 'category' AND dim_value <> 'unclassified' AND scope_code LIKE :prefix
    GROUP BY scope_code, dim_value
)
(SELECT 'hot' AS list, * FROM c WHERE received > 0
 ORDER BY received DESC, village, category LIMIT :top)
UNION ALL
(SELECT 'rising', * FROM c
 WHERE received >= :min AND (previous = 0 OR received * 2 >= previous * 3)
 ORDER BY received - previous DESC, village, category LIMIT :top)
UNION ALL
(SELECT 'repeat', * FROM c
 WHERE received > 0 AND (duplicates + repeats >= 2 OR (previous >= :min AND received >= :min))
 ORDER BY duplicates + repeats DESC, received DESC, village, category LIMIT :top)
"""


async def demand(session: AsyncSession, period: Period, start: date, town_code: str | None) -> DemandReport:
    """The demand report of a period (the city, or one town's villages): one scan of the cells."""
    await fold(session)
    q = Question("city", "city", period, start).checked()
    prev = q.previous()
    params = {
        "now": q.start,
        "before": prev.start,
        "period": PERIOD_CODES[period],
        "prefix": f"{scope.village_prefix(town_code) if town_code else ''}%",
        "top": TOP,
        "min": MIN_RISING,
    }
    lists: dict[str, list[Spot]] = {"hot": [], "rising": [], "repeat": []}
    for name, village, category, got, prev_got, dup, rep in (
        await session.execute(text(_DEMAND_SQL), params)
    ).all():
        lists[name].append(
            Spot(
                village_code=village,
                village=village_name(village),
                category=category,
                category_name=CATEGORY_NAMES.get(category),
                received=int(got),
                previous=int(prev_got),
                change=change(int(got), int(prev_got)),
                duplicates=int(dup),
                repeats=int(rep),
            )
        )
    return DemandReport(
        period=period,
        start=q.start,
        previous_start=prev.start,
        hot_spots=lists["hot"],
        rising=lists["rising"],
        repeat_places=lists["repeat"],
    )
