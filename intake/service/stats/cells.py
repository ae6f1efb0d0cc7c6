"""Which counter cells one fact updates (pure): periods × scopes × dimensions.

A fact (an appeal received, completed, rated…) at a local date adds to:
- periods: the day (dimension `all` only, for trend lines), the month and the year (every dimension);
- scopes: the city, the appeal's town, its village, and the unit holding it (`unit`, e.g. a
  department or a station), each when known;
- dimensions: `all`, `kind`, `category`, `channel`.
So a dashboard question ("this town, this month, by category") reads a fixed handful of rows,
however many appeals there are. City and town rows are split over `shards` rows each, chosen at
random per transaction, so that concurrent transactions rarely wait on the same row lock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

Dim = str
ALL_DIMS: tuple[Dim, ...] = ("all", "kind", "category", "channel")
CLASS_DIMS: tuple[Dim, ...] = ("kind", "category")
UNKNOWN = "unclassified"
SHARDED_SCOPES = frozenset({"city", "town"})


@dataclass(frozen=True)
class Facts:
    """What a counter needs to know of an appeal at the time of the fact."""

    channel: str
    kind: str | None
    category: str | None
    town_code: str | None
    village_code: str | None
    holder_type: str | None
    holder_code: str | None


@dataclass(frozen=True, order=True)
class Cell:
    """The key of one counter row."""

    period: str
    period_start: date
    scope_type: str
    scope_code: str
    dim: str
    dim_value: str
    shard: int


def period_starts(day: date) -> list[tuple[str, date]]:
    """The day, its month and its year."""
    return [("d", day), ("m", day.replace(day=1)), ("y", day.replace(month=1, day=1))]


def scopes(facts: Facts, only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(scope_type, scope_code) for every level the appeal belongs to."""
    out = [("city", "city")]
    if facts.town_code:
        out.append(("town", facts.town_code))
    if facts.village_code:
        out.append(("village", facts.village_code))
    if facts.holder_type and facts.holder_code:
        out.append(("unit", f"{facts.holder_type}:{facts.holder_code}"))
    if only is not None:
        wanted = set(only)
        out = [s for s in out if s[0] in wanted]
    return out


def dim_value(facts: Facts, dim: Dim) -> str:
    """The appeal's value of a dimension."""
    match dim:
        case "kind":
            return facts.kind or UNKNOWN
        case "category":
            return facts.category or UNKNOWN
        case "channel":
            return facts.channel
    return "all"


def cells(
    facts: Facts,
    day: date,
    *,
    dims: Iterable[Dim] = ALL_DIMS,
    scope_types: Iterable[str] | None = None,
    shards: int = 8,
    rng: random.Random | None = None,
    shard: int | None = None,
) -> list[Cell]:
    """Every cell a fact on `day` adds to, sorted (a fixed lock order across transactions)."""
    if shard is None:
        shard = (rng or random).randrange(shards) if shards > 1 else 0
    wanted = tuple(dims)
    out = []
    for period, start in period_starts(day):
        for scope_type, scope_code in scopes(facts, scope_types):
            s = shard if scope_type in SHARDED_SCOPES else 0
            for dim in wanted:
                if period == "d" and dim != "all":
                    continue
                out.append(Cell(period, start, scope_type, scope_code, dim, dim_value(facts, dim), s))
    return sorted(out)
