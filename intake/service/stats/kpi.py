"""KPI arithmetic (考核指标, DESIGN §8) over summed counters, and what each fact counts (pure).

| KPI | numerator / denominator |
| --- | --- |
| 响应率 response rate | sign-off clocks met by their original deadline / sign-off clocks ended |
| 按时办结率 on-time rate | handling and works clocks met by their *original* deadline (extensions do not help) / ended |
| 解决率 resolution rate | return visits answering "resolved" / return visits answered |
| 满意率 satisfaction rate | 满意 + 基本满意 / ratings given (closed unrated are counted apart) |
| 首次办结率 first-time rate | closures in round 1 with no send-back / closures (a hand-over by the town or city is a hop, not a send-back) |
| duplicate rate | appeals linked as duplicates / appeals received |
| average handling days | days from receipt to first completion, averaged |
| funds per source | fen disbursed per source (from the ledger's events) |
"""

from __future__ import annotations

from collections.abc import Mapping

METRICS_BY_MOVE: dict[str, str] = {
    "reopened": "reopened",
    "returned": "returned",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
}
RESULT_METRICS = {"resolved": "resolved", "partly": "partly_resolved", "not": "not_resolved"}
RATING_METRICS = {
    "satisfied": "satisfied",
    "basically_satisfied": "basically_satisfied",
    "dissatisfied": "dissatisfied",
}
FUND_SOURCES = ("city_finance", "city_charity", "town_matching", "village_collective", "donation")
DAY_S = 86400


def transition_deltas(
    target: str,
    *,
    round_no: int,
    returns_count: int,
    first_completion_s: float | None = None,
    unrated: bool = False,
    handover: bool = False,
) -> dict[str, int]:
    """What moving to `target` adds to the counters.

    A `handover` (the town or the city passing the appeal to another unit, e.g. its own station)
    goes through `returned` on its way to the new holder but is a hop: it counts as no return.
    """
    out: dict[str, int] = {}
    if target == "returned" and handover:
        return out
    if target in METRICS_BY_MOVE:
        out[METRICS_BY_MOVE[target]] = 1
    elif target == "completed":
        out["completed"] = 1
        out["completed_first" if round_no == 1 else "completed_redone"] = 1
        if first_completion_s is not None:
            out["handling_seconds"] = max(0, round(first_completion_s))
    elif target == "closed":
        out["closed"] = 1
        if round_no == 1 and returns_count == 0:
            out["closed_first_time"] = 1
        if unrated:
            out["closed_unrated"] = 1
    return out


def counts_as_return(target: str, handover: bool) -> bool:
    """Whether the move adds to the appeal's send-backs (退单), which cost it 首次办结率."""
    return target == "returned" and not handover


def evaluation_deltas(result: str | None, rating: str | None) -> dict[str, int]:
    """What one return visit adds."""
    out = {"evaluated": 1}
    if result in RESULT_METRICS:
        out[RESULT_METRICS[result]] = 1
    if rating in RATING_METRICS:
        out[RATING_METRICS[rating]] = 1
    return out


def fund_metric(source: str) -> str:
    """The counter column of a fund source."""
    return f"funds_{source}" if source in FUND_SOURCES else "funds_other"


def rate(numerator: int, denominator: int) -> float | None:
    """A share in [0, 1] rounded to 4 places; None when nothing was counted."""
    if denominator <= 0:
        return None
    return round(min(numerator, denominator) / denominator, 4)


def kpis(c: Mapping[str, int]) -> dict[str, float | None]:
    """Every KPI of DESIGN §8 from one set of summed counters."""
    rated = c.get("satisfied", 0) + c.get("basically_satisfied", 0) + c.get("dissatisfied", 0)
    answered = c.get("resolved", 0) + c.get("partly_resolved", 0) + c.get("not_resolved", 0)
    first = c.get("completed_first", 0)
    avg_days = round(c.get("handling_seconds", 0) / first / DAY_S, 2) if first else None
    return {
        "response_rate": rate(c.get("signoff_on_time", 0), c.get("signoff_due", 0)),
        "on_time_rate": rate(c.get("handling_on_time", 0), c.get("handling_due", 0)),
        "resolution_rate": rate(c.get("resolved", 0), answered),
        "satisfaction_rate": rate(c.get("satisfied", 0) + c.get("basically_satisfied", 0), rated),
        "first_time_rate": rate(c.get("closed_first_time", 0), c.get("closed", 0)),
        "duplicate_rate": rate(c.get("duplicates", 0), c.get("received", 0)),
        "repeat_rate": rate(c.get("repeats", 0), c.get("received", 0)),
        "unrated_share": rate(c.get("closed_unrated", 0), c.get("closed", 0)),
        "average_handling_days": avg_days,
    }


def funds(c: Mapping[str, int]) -> dict[str, int]:
    """Fen used per source."""
    out = {s: c.get(f"funds_{s}", 0) for s in FUND_SOURCES}
    out["other"] = c.get("funds_other", 0)
    return out


def change(now: int, before: int) -> float | None:
    """Relative change against the previous period; None when there was nothing before."""
    if before <= 0:
        return None
    return round((now - before) / before, 4)
