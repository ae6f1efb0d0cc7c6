"""REST shapes of the deadlines service's internal API."""

from __future__ import annotations

import re
from datetime import date, datetime

from deadlines.errors import InvalidPeriod, InvalidStart
from deadlines.service.calendar import TZ, local_date
from deadlines.service.rules import (
    FIRST_YEAR,
    LAST_YEAR,
    Limit,
)
from services.contracts.deadlines import (
    ChangeOut as ChangeOut,
)
from services.contracts.deadlines import (
    ClockHistoryOut as ClockHistoryOut,
)
from services.contracts.deadlines import (
    ClockOut as ClockOut,
)
from services.contracts.deadlines import (
    ClockPage as ClockPage,
)
from services.contracts.deadlines import (
    DecisionIn as DecisionIn,
)
from services.contracts.deadlines import (  # one definition: the public contract
    DueOut as DueOut,
)
from services.contracts.deadlines import (
    ExtensionIn as ExtensionIn,
)
from services.contracts.deadlines import (
    ExtensionOut as ExtensionOut,
)
from services.contracts.deadlines import (
    ExtensionPage as ExtensionPage,
)
from services.contracts.deadlines import (
    HistoryOut as HistoryOut,
)
from services.contracts.deadlines import (
    RateOut as RateOut,
)
from services.contracts.deadlines import (
    RatesOut as RatesOut,
)
from services.contracts.deadlines import (
    RecomputedClockOut as RecomputedClockOut,
)
from services.contracts.deadlines import (
    ReminderOut as ReminderOut,
)
from services.contracts.deadlines import (
    RuleIn as RuleIn,
)
from services.contracts.deadlines import (
    RuleSetIn as RuleSetIn,
)
from services.contracts.deadlines import (
    RuleSetOut as RuleSetOut,
)
from services.contracts.deadlines import (
    UnitRatesOut as UnitRatesOut,
)
from services.contracts.deadlines import (
    YearScheduleIn as YearScheduleIn,
)
from services.contracts.deadlines import (
    YearUploadOut as YearUploadOut,
)

MAX_WORKING_DAYS, MAX_MONTHS = 1000, 120
# An unencoded "+08:00" in a query string arrives as " 08:00"; put the plus sign back.
_LOST_PLUS = re.compile(r"^(.+[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_start(raw: str | None) -> date | datetime:
    """The start of a period: an ISO date, or an ISO datetime (naive means Asia/Shanghai)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidStart("请提供起算时间 start。")
    text = _LOST_PLUS.sub(r"\1+\2", text)
    try:
        if "T" not in text and " " not in text:
            start: date | datetime = date.fromisoformat(text)
        else:
            moment = datetime.fromisoformat(text)
            start = moment if moment.utcoffset() is not None else moment.replace(tzinfo=TZ)
    except ValueError as exc:
        raise InvalidStart(start=raw) from exc
    if not FIRST_YEAR <= local_date(start).year <= LAST_YEAR:
        raise InvalidStart(f"起算日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间。", start=raw)
    return start


def _count(name: str, raw: str, maximum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise InvalidPeriod(f"{name} 须为整数。", **{name: raw}) from exc
    if not 1 <= value <= maximum:
        raise InvalidPeriod(f"{name} 须在 1 到 {maximum} 之间。", **{name: raw})
    return value


def parse_period(working_days: str | None, months: str | None) -> Limit:
    """Exactly one of ``working_days`` (1–1000) and ``months`` (1–120), as a ``Limit``."""
    given = {k: v for k, v in (("working_days", working_days), ("months", months)) if v not in (None, "")}
    if not given:
        raise InvalidPeriod("请提供 working_days（工作日数）或 months（月数）其中一项。")
    if len(given) > 1:
        raise InvalidPeriod("working_days 与 months 只能填写其中一项。")
    if working_days:
        return Limit.working_days(_count("working_days", working_days, MAX_WORKING_DAYS))
    return Limit.months(_count("months", months or "", MAX_MONTHS))


# -- rules (时限规则) -------------------------------------------------------------------------------


# -- extensions (延期) ------------------------------------------------------------------------------


# -- on-time rates and history ---------------------------------------------------------------------
