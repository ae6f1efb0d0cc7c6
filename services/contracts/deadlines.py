"""REST shapes of the deadlines service's internal API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.contracts.vocabulary import Kind as AppealKind
from services.contracts.vocabulary import Track, UnitType, Urgency

ClockName = Literal["triage", "sign_off", "handling", "consultation", "works", "feedback"]
"""The clocks of DESIGN §5: 分拣, 签收, 办理, 协商, 工程, 反馈."""
# The defaults the deadlines service applies (`deadlines.rules`; a unit test keeps them equal).
WARN_RATIO = 0.8
MAX_EXTENSIONS = 1
MAX_EXTENSIONS_CEILING = 10
# A catalogue policy code: the department's code, a dot, the policy's own (civil_affairs.dibao).
POLICY_CODE_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"


class DueOut(BaseModel):
    """A computed deadline: the end of ``due`` (Asia/Shanghai) is the last moment."""

    due: date
    provisional: bool = Field(description="True when a counted day lies in a year without official data")


class YearScheduleIn(BaseModel):
    """A year's official schedule: the days off and the make-up working days (调休上班).

    Every date must lie in the year. The lists are the year's whole schedule (`PUT` replaces).
    Nothing is removed silently: a day off or a make-up working day of the year's official
    schedule now (uploaded, or the package's) that the lists leave out is taken away only when
    named in ``remove_holidays`` / ``remove_workdays``, or with ``replace: true``; otherwise the
    upload is refused (422), naming those days. A year with only the estimate takes the lists as
    they are.
    """

    model_config = ConfigDict(extra="forbid")

    holidays: list[date] = Field(default_factory=list, max_length=366)
    workdays: list[date] = Field(default_factory=list, max_length=366)
    replace: bool = Field(
        default=False,
        description="confirms that days of the year's official schedule the lists leave out are removed",
    )
    remove_holidays: list[date] = Field(
        default_factory=list,
        max_length=366,
        description="days off the lists leave out, named to confirm they are taken away (they become "
        "working days)",
    )
    remove_workdays: list[date] = Field(
        default_factory=list,
        max_length=366,
        description="make-up working days the lists leave out, named to confirm they are taken away (they "
        "become rest days again)",
    )

    @model_validator(mode="after")
    def _replace_or_remove(self) -> YearScheduleIn:
        if self.replace and (self.remove_holidays or self.remove_workdays):
            raise ValueError("replace 与 remove_holidays / remove_workdays 不能同时使用")
        return self


class RecomputedClockOut(BaseModel):
    """A clock whose deadline the upload changed (or settled from an estimate)."""

    clock_id: UUID
    appeal_id: UUID
    clock: str
    state: str
    due_date_before: date
    due_date: date
    original_due_date: date
    provisional: bool


class YearUploadOut(BaseModel):
    """The stored year, the days whose status changed, and every clock recomputed from it."""

    year: int
    recomputed: int = Field(description="how many clocks got a new deadline or lost the provisional mark")
    now_off: list[date] = Field(default_factory=list, description="days that were working and are now off")
    now_working: list[date] = Field(
        default_factory=list, description="days that were off and are now working"
    )
    clocks: list[RecomputedClockOut] = Field(
        default_factory=list, description="the recomputed clocks (running, paused, overdue, met or stopped)"
    )


class ClockOut(BaseModel):
    """One clock as other services see it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    appeal_id: UUID
    clock: str
    hop: int
    round: int = Field(default=1, description="the round of work (1, then one more per reopening)")
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
    scope_town: str | None = None
    original_paused_days: int = 0
    extended_days: int = 0
    extensions_allowed: int = MAX_EXTENSIONS
    extensions_used: int = 0
    warn_ratio: float = WARN_RATIO
    warn_at: datetime
    warned_at: datetime | None
    overdue_notified_at: datetime | None
    escalation_level: int = 0
    escalate_at: datetime | None = None
    met_at: datetime | None
    paused_at: datetime | None
    stopped_at: datetime | None


class ClockPage(BaseModel):
    """One page of a due or overdue list, ordered by deadline."""

    items: list[ClockOut]
    page: int
    page_size: int
    has_more: bool


# -- rules (时限规则) -------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """One row of a clock table: which clock, for which appeals, for how long.

    Exactly one of ``working_days`` and ``months``. Filters left out match any appeal; within a
    table the first matching row wins, so specific rows go first.
    """

    model_config = ConfigDict(extra="forbid")

    clock: ClockName
    label: str = Field(min_length=1, max_length=40, description="Chinese name, e.g. 急难救助")
    working_days: int | None = Field(default=None, ge=1, le=1000)
    months: int | None = Field(default=None, ge=1, le=120)
    kind: AppealKind | None = None
    urgency: Urgency | None = None
    track: Track | None = None
    policy_code: str | None = Field(
        default=None,
        max_length=64,
        pattern=POLICY_CODE_PATTERN,
        description="a catalogue policy code, e.g. civil_affairs.dibao",
    )
    warn_ratio: float | None = Field(default=None, gt=0, lt=1, description="overrides the table's")
    max_extensions: int | None = Field(default=None, ge=0, le=MAX_EXTENSIONS_CEILING)

    @model_validator(mode="after")
    def _one_limit(self) -> RuleIn:
        if (self.working_days is None) == (self.months is None):
            raise ValueError("每条规则须填写 working_days 或 months 其中一项")
        return self


class RuleSetIn(BaseModel):
    """A new version of the clock table. ``base_version`` is the version it was edited from."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    base_version: str = Field(min_length=1, max_length=32)
    effective_from: datetime | None = Field(
        default=None, description="when it takes effect (default now; naive means Asia/Shanghai)"
    )
    warn_ratio: float = Field(default=WARN_RATIO, gt=0, lt=1)
    max_extensions: int = Field(default=MAX_EXTENSIONS, ge=0, le=MAX_EXTENSIONS_CEILING)
    rules: list[RuleIn] = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=500)


class RuleSetOut(BaseModel):
    """A version of the clock table; ``builtin`` for the table shipped with the system."""

    version: str
    base_version: str | None
    effective_from: datetime | None
    builtin: bool
    in_effect: bool = Field(description="the version new clocks start under now")
    warn_ratio: float
    max_extensions: int
    rules: list[RuleIn]
    note: str | None
    published_at: datetime | None
    published_by: str | None


# -- extensions (延期) ------------------------------------------------------------------------------


class ExtensionIn(BaseModel):
    """A request for more time: working days (a months clock: calendar days) and why."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=3650)
    reason: str = Field(min_length=2, max_length=500)


class DecisionIn(BaseModel):
    """The approver's decision on a request."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=500)


class ExtensionOut(BaseModel):
    """A request for more time and its decision."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    clock_id: UUID
    appeal_id: UUID
    status: str
    days: int
    reason: str
    unit_type: str | None
    unit_code: str | None
    approver_type: str
    approver_code: str
    requested_by: str
    requested_at: datetime
    due_date_before: date
    due_date_after: date | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class ExtensionPage(BaseModel):
    """One page of extension requests, newest first."""

    items: list[ExtensionOut]
    page: int
    page_size: int
    has_more: bool


# -- on-time rates and history ---------------------------------------------------------------------


class RateOut(BaseModel):
    """Clocks judged in the period, on time among them, and the share (null when none)."""

    due: int
    on_time: int
    rate: float | None


class UnitRatesOut(BaseModel):
    """响应率 (sign-off) and 按时办结率 (handling and works) of one unit, or of the whole scope."""

    unit_type: str | None
    unit_code: str | None
    response: RateOut
    completion: RateOut


class RatesOut(BaseModel):
    """On-time rates per unit over a period (local dates, both included), and their total."""

    start: date
    end: date
    units: list[UnitRatesOut]
    total: UnitRatesOut


class ChangeOut(BaseModel):
    """One announced change of a clock."""

    model_config = ConfigDict(from_attributes=True)

    type: str
    at: datetime
    state: str
    due_date: date
    original_due_date: date
    provisional: bool
    detail: dict[str, object]


class ReminderOut(BaseModel):
    """A reminder sent: 预警, 超期 or a 督办 level with its target."""

    model_config = ConfigDict(from_attributes=True)

    stage: str
    sent_at: datetime
    level: int | None
    target_type: str | None
    target_code: str | None


class ClockHistoryOut(BaseModel):
    """A clock with every change, reminder and extension request."""

    clock: ClockOut
    changes: list[ChangeOut]
    reminders: list[ReminderOut]
    extensions: list[ExtensionOut]


class HistoryOut(BaseModel):
    """The deadline history of an appeal: every clock, oldest first."""

    appeal_id: UUID
    clocks: list[ClockHistoryOut]


# -- query parameters of the public reads -----------------------------------------------------------


class UnitFilter(BaseModel):
    """A unit's clocks (both or neither): a unit sees its own, a town its villages' and stations'."""

    unit_type: UnitType | None = Field(default=None, description="the unit's type; with unit_code")
    unit_code: str | None = Field(default=None, max_length=64, description="the unit's code; with unit_type")


class DueQuery(UnitFilter):
    """Running clocks, earliest deadline first."""

    before: date | None = Field(default=None, description="deadlines on or before this date")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=200)


class OverdueQuery(UnitFilter):
    """Overdue clocks, earliest deadline first."""

    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=200)


class RatesQuery(UnitFilter):
    """A period of local dates."""

    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from", description="first local date")
    end: date | None = Field(default=None, alias="to", description="last local date (default today)")


class ExtensionQuery(BaseModel):
    """Extension requests in one state."""

    status: Literal["requested", "approved", "rejected"] | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=200)


class CalendarDueQuery(BaseModel):
    """The start of a period and its length: exactly one of ``working_days`` and ``months``."""

    start: str = Field(description="ISO date or datetime (naive means Asia/Shanghai)", max_length=64)
    working_days: int | None = Field(default=None, description="N working days (1–1000)")
    months: int | None = Field(default=None, description="N calendar months (1–120)")
