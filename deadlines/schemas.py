"""REST shapes of the deadlines service's internal API."""

from __future__ import annotations

import re
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from deadlines.calendar import TZ, local_date
from deadlines.errors import InvalidPeriod, InvalidStart
from deadlines.rules import FIRST_YEAR, LAST_YEAR, Limit

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


class DueOut(BaseModel):
    """A computed deadline: the end of ``due`` (Asia/Shanghai) is the last moment."""

    due: date
    provisional: bool = Field(description="True when a counted day lies in a year without official data")


class YearScheduleIn(BaseModel):
    """A year's official schedule: the days off and the make-up working days (调休上班)."""

    model_config = ConfigDict(extra="forbid")

    holidays: list[date] = Field(default_factory=list, max_length=366)
    workdays: list[date] = Field(default_factory=list, max_length=366)


class YearUploadOut(BaseModel):
    """The stored year and how many provisional clocks got a new due date from it."""

    year: int
    recomputed: int


class ClockOut(BaseModel):
    """One clock as other services see it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    appeal_id: UUID
    clock: str
    hop: int
    unit_type: str | None
    unit_code: str | None
    state: str
    started_at: datetime
    due_date: date
    due_at: datetime
    original_due_date: date
    provisional: bool
    rule_version: str
    limit_kind: str
    limit_value: int
    paused_days: int
    warn_at: datetime
    warned_at: datetime | None
    overdue_notified_at: datetime | None
    met_at: datetime | None
    paused_at: datetime | None
    stopped_at: datetime | None
