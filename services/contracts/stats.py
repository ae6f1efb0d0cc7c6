"""Statistics for dashboards (DESIGN §8): KPI tables and demand analysis, as intake answers them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

Level = Literal["city", "town", "village", "unit"]
Period = Literal["day", "month", "year"]
By = Literal["all", "kind", "category", "channel"]


class KpiReport(BaseModel):
    """Counts, KPIs and funds for one scope and period, one row per breakdown value."""

    level: Level
    code: str
    period: Period
    start: date
    by: By
    rows: list[dict[str, object]]


class Spot(BaseModel):
    """A village and a category with their figures."""

    village_code: str
    village: str | None
    category: str
    category_name: str | None
    received: int
    previous: int = 0
    change: float | None = None
    duplicates: int = 0
    repeats: int = 0


class DemandReport(BaseModel):
    """需求分析: hot spots, rising needs and repeat places."""

    period: Period
    start: date
    previous_start: date
    hot_spots: list[Spot]
    rising: list[Spot]
    repeat_places: list[Spot]
