"""Times are stored in UTC and reasoned about in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from services.common import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def to_local(value: datetime) -> datetime:
    """An aware datetime in Asia/Shanghai; naive input is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(SHANGHAI)


def local_today(now: datetime | None = None) -> date:
    """Today's date in Dongguan."""
    return to_local(now or datetime.now(UTC) + clock.offset()).date()
