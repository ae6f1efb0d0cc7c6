"""On-time rates (DESIGN §8) from clocks: pure arithmetic, no I/O.

- 响应率 (response rate): sign-off clocks (签收) met by their deadline;
- 按时办结率 (on-time completion rate): handling and works clocks met by their deadline.

A clock is judged against its ORIGINAL deadline (``original_due_date``): the deadline its limit
and the resident's pauses (挂起) give, never an extension (延期), so an extension does not rescue
the rate. A clock is judged once: late at the end of its original deadline if it was still open
then, on time when it was met before. A stopped clock (退单, withdrawal) is not judged, nor one
still open before its original deadline. ``queries.rates`` runs the same rule in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from deadlines.service.calendar import end_of_day

Outcome = Literal["on_time", "late", "pending", "excluded"]
Measure = Literal["response", "completion"]
MEASURES: dict[Measure, tuple[str, ...]] = {"response": ("sign_off",), "completion": ("handling", "works")}


@dataclass(frozen=True)
class Judgement:
    """A clock's outcome and when it was settled (None while pending or excluded)."""

    outcome: Outcome
    at: datetime | None


def judge(
    state: str,
    original_due_date: date,
    *,
    met_at: datetime | None,
    paused_at: datetime | None,
    now: datetime,
) -> Judgement:
    """Judge one clock as of ``now``.

    The clock stopped counting when it was met, or when it was paused (waiting for the resident),
    else it still counts now. Open past the end of its original deadline: late, judged at that end.
    Met before it: on time, judged when met. Otherwise it is not judged yet.
    """
    if state == "stopped":
        return Judgement("excluded", None)
    deadline = end_of_day(original_due_date)
    counting_until = met_at or paused_at or now
    if deadline < counting_until:
        return Judgement("late", deadline)
    if state == "met" and met_at is not None:
        return Judgement("on_time", met_at)
    return Judgement("pending", None)


@dataclass(frozen=True)
class Rate:
    """How many clocks were judged in a period, how many on time, and the share (None if none)."""

    due: int
    on_time: int

    @property
    def rate(self) -> float | None:
        """on_time / due, rounded to four places; None when nothing was due."""
        return rate(self.on_time, self.due)


def rate(on_time: int, due: int) -> float | None:
    """The share of clocks on time, four places; None when nothing was due (not 0 or 100%)."""
    if due < 0 or on_time < 0 or on_time > due:
        raise ValueError(f"on_time ({on_time}) must lie between 0 and due ({due})")
    return None if due == 0 else round(on_time / due, 4)


def tally(judgements: Iterable[Judgement], start: datetime, end: datetime) -> Rate:
    """Count the judgements settled in [start, end)."""
    due = on_time = 0
    for judgement in judgements:
        if judgement.at is None or not start <= judgement.at < end:
            continue
        due += 1
        on_time += judgement.outcome == "on_time"
    return Rate(due, on_time)
