"""Benchmark: due-date computation, our calendar against a day-by-day loop over chinesecalendar.

Prints JSON. The baseline runs in the same process on the same inputs, so the ratio is what
counts, not the seconds. Run: `.venv/bin/python -m bench.calendar_due`.
"""

from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta

import chinese_calendar

from deadlines.service.calendar import WorkingCalendar


def naive_add_working_days(start: date, n: int) -> date:
    """The obvious loop: step a day at a time asking chinesecalendar."""
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return day


def main(samples: int = 20_000, seed: int = 7) -> dict[str, object]:
    """Time both on the same random (start, n) pairs within the years both know."""
    rng = random.Random(seed)
    cases = [
        (date(2020, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365)), rng.randrange(1, 31))
        for _ in range(samples)
    ]
    calendar = WorkingCalendar()
    # Same answers first: a fast wrong calendar is worth nothing.
    for start, n in cases[:2000]:
        assert calendar.add_working_days(start, n).due == naive_add_working_days(start, n)

    t0 = time.perf_counter()
    for start, n in cases:
        naive_add_working_days(start, n)
    baseline_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for start, n in cases:
        calendar.add_working_days(start, n)
    ours_s = time.perf_counter() - t0
    return {
        "benchmark": "calendar_due",
        "samples": samples,
        "baseline": "day-by-day loop over chinese_calendar.is_workday",
        "baseline_per_s": round(samples / baseline_s),
        "ours_per_s": round(samples / ours_s),
        "speedup_vs_baseline": round(baseline_s / ours_s, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
