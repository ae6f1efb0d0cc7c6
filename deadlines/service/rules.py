"""Deadline rules (时限规则, DESIGN §5) as data, and the pure arithmetic of a clock.

The clock table says which clock (计时) an event starts, for which appeals, and for how long.
``DEFAULT_RULES`` is the built-in table (version ``RULES_VERSION``); city staff publish later
versions into ``deadlines.rule_sets`` (``deadlines.service.rulesets``). Each clock row stores the version it
was started under and copies its own limit, warning ratio and extensions allowed, so a change of
rules applies to clocks started after it and never to deadlines already issued.

Everything here is pure: the functions take a ``WorkingCalendar`` and return values, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from deadlines.service.calendar import DueDate, WorkingCalendar, end_of_day, local_date
from services.contracts.events import EventType
from services.contracts.vocabulary import Kind, Track, Urgency

__all__ = [
    "CLOCK_NAMES",
    "CLOCK_TRIGGERS",
    "DEFAULT_RULES",
    "FIRST_YEAR",
    "LAST_YEAR",
    "LIMIT_KINDS",
    "MAX_EXTENSIONS",
    "RULES_VERSION",
    "WARN_RATIO",
    "ClockName",
    "ClockRule",
    "Limit",
    "LimitKind",
    "RuleSet",
    "days_lost_to_pause",
    "due_for",
    "escalation_points",
    "max_extension_days",
    "rule_set_problems",
    "warn_point",
    "with_catalogue_limit",
]

ClockName = Literal["triage", "sign_off", "handling", "consultation", "works", "feedback"]
CLOCK_NAMES: tuple[ClockName, ...] = get_args(ClockName)
LimitKind = Literal["working_days", "months"]
LIMIT_KINDS: tuple[LimitKind, ...] = get_args(LimitKind)
AppealKind = Kind  # the shared vocabulary's, under the name the rule tables use

# Bump whenever DEFAULT_RULES changes; clocks keep the version they were started under.
RULES_VERSION = "2025.1"
WARN_RATIO = 0.8  # 预警 (warning) at 80% of the time (DESIGN §5)
MAX_EXTENSIONS = 1  # 延期 allowed per clock unless a rule says otherwise
MAX_EXTENSIONS_CEILING = 10
# Which event starts each clock: fixed by the handlers, so a published table cannot change it.
CLOCK_TRIGGERS: dict[str, EventType] = {
    "triage": "appeal.received",
    "sign_off": "appeal.assigned",
    "handling": "appeal.assigned",
    "consultation": "appeal.triaged",
    "works": "plan.approved",
    "feedback": "appeal.completed",
}
# The years the service computes and stores calendars for; outside them a request is refused.
FIRST_YEAR, LAST_YEAR = 2000, 2099
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """A time limit (时限): ``value`` working days, or ``value`` calendar months."""

    kind: LimitKind
    value: int

    def __post_init__(self) -> None:
        if self.kind not in LIMIT_KINDS:
            raise ValueError(f"unknown limit kind {self.kind!r}")
        if self.value < 1:
            raise ValueError(f"a limit must be at least 1, got {self.value}")

    @classmethod
    def working_days(cls, n: int) -> Limit:
        """``n`` working days (工作日)."""
        return cls("working_days", n)

    @classmethod
    def months(cls, n: int) -> Limit:
        """``n`` calendar months."""
        return cls("months", n)


@dataclass(frozen=True)
class ClockRule:
    """One row of the clock table: ``clock`` starts on ``trigger`` and runs for ``limit``.

    ``kind``, ``urgency``, ``track`` and ``policy_code`` narrow the appeals the row applies to;
    ``None`` matches anything. Within a table the first matching row wins, so specific rows come
    before general ones. ``warn_ratio`` and ``max_extensions`` override the table's own for the
    clocks this row starts.
    """

    clock: ClockName
    trigger: EventType
    limit: Limit
    label: str
    kind: AppealKind | None = None
    urgency: Urgency | None = None
    track: Track | None = None
    policy_code: str | None = None
    warn_ratio: float | None = None
    max_extensions: int | None = None

    def __post_init__(self) -> None:
        _check_settings(self.warn_ratio, self.max_extensions)

    def filters(self) -> tuple[str | None, ...]:
        """The row's narrowing attributes, in a fixed order."""
        return (self.kind, self.urgency, self.track, self.policy_code)

    def covers(self, other: ClockRule) -> bool:
        """True when every appeal ``other`` applies to is matched by this row as well."""
        return self.clock == other.clock and all(
            mine is None or mine == theirs
            for mine, theirs in zip(self.filters(), other.filters(), strict=True)
        )

    def matches(
        self,
        *,
        kind: str | None = None,
        urgency: str | None = None,
        track: str | None = None,
        policy_code: str | None = None,
    ) -> bool:
        """True when this row applies to an appeal with these attributes."""
        pairs = (
            (self.kind, kind),
            (self.urgency, urgency),
            (self.track, track),
            (self.policy_code, policy_code),
        )
        return all(wanted is None or wanted == actual for wanted, actual in pairs)


def _check_settings(warn_ratio: float | None, max_extensions: int | None) -> None:
    if warn_ratio is not None and not 0 < warn_ratio < 1:
        raise ValueError(f"warn_ratio must lie strictly between 0 and 1, got {warn_ratio}")
    if max_extensions is not None and not 0 <= max_extensions <= MAX_EXTENSIONS_CEILING:
        raise ValueError(
            f"max_extensions must lie between 0 and {MAX_EXTENSIONS_CEILING}, got {max_extensions}"
        )


@dataclass(frozen=True)
class RuleSet:
    """A versioned clock table (时限规则版本), with the warning point and extensions allowed."""

    version: str
    rules: tuple[ClockRule, ...]
    warn_ratio: float = WARN_RATIO
    max_extensions: int = MAX_EXTENSIONS
    _by_clock: dict[str, tuple[ClockRule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_settings(self.warn_ratio, self.max_extensions)
        grouped: dict[str, tuple[ClockRule, ...]] = {}
        for rule in self.rules:
            grouped[rule.clock] = (*grouped.get(rule.clock, ()), rule)
        object.__setattr__(self, "_by_clock", grouped)

    def rule_for(
        self,
        clock: ClockName,
        *,
        kind: str | None = None,
        urgency: str | None = None,
        track: str | None = None,
        policy_code: str | None = None,
    ) -> ClockRule | None:
        """The first row for ``clock`` that applies to the appeal, or None when it is not timed."""
        for rule in self._by_clock.get(clock, ()):
            if rule.matches(kind=kind, urgency=urgency, track=track, policy_code=policy_code):
                return rule
        return None

    def warn_ratio_of(self, rule: ClockRule) -> float:
        """The warning point of the clocks ``rule`` starts."""
        return rule.warn_ratio if rule.warn_ratio is not None else self.warn_ratio

    def max_extensions_of(self, rule: ClockRule) -> int:
        """How many extensions the clocks ``rule`` starts may get."""
        return rule.max_extensions if rule.max_extensions is not None else self.max_extensions

    def with_policy_limits(self, version: str, limits: Mapping[str, Limit]) -> RuleSet:
        """A new table where each listed policy's referrals get their own handling limit.

        The policy rows go before every other handling row except the emergency one: an
        individual emergency is helped within 5 working days whatever policy carries it.
        """
        if version == self.version:
            raise ValueError("a changed rule set needs a new version")
        policy_rows = tuple(
            ClockRule(
                "handling", "appeal.assigned", lim, f"政策办理 {code}", track="policy", policy_code=code
            )
            for code, lim in sorted(limits.items())
        )
        emergency = tuple(r for r in self.rules if r.clock == "handling" and r.urgency == "emergency")
        rest = tuple(r for r in self.rules if r not in emergency)
        return RuleSet(version, (*emergency, *policy_rows, *rest), self.warn_ratio, self.max_extensions)


def with_catalogue_limit(rule: ClockRule, policy_code: str | None, days: int | None) -> ClockRule:
    """The rule a policy referral's handling clock runs under, given the catalogue's time limit.

    The catalogue (政策目录) says how long each policy takes (最低生活保障: 30 working days);
    the generic policy row (10 days) is only the default for a policy without one. A row that
    names the policy itself is the city's explicit choice and wins, and a row that does not
    concern policy referrals (an individual emergency's 5 days) is kept as it is.
    """
    if (
        days is None
        or policy_code is None
        or rule.clock != "handling"
        or rule.track != "policy"
        or rule.policy_code is not None
    ):
        return rule
    return replace(
        rule, limit=Limit.working_days(days), policy_code=policy_code, label=f"{rule.label}（政策时限）"
    )


def rule_set_problems(rules: tuple[ClockRule, ...]) -> list[str]:
    """What is wrong with a clock table, in Chinese; empty when it can be published.

    Every clock needs at least one row, a row must start its clock on that clock's own event,
    and no row may sit behind an earlier one that already matches every appeal it would.
    """
    problems: list[str] = []
    for index, rule in enumerate(rules, start=1):
        if rule.trigger != CLOCK_TRIGGERS[rule.clock]:
            problems.append(f"第 {index} 条：{rule.clock} 计时只能由 {CLOCK_TRIGGERS[rule.clock]} 开始。")
        earlier = next((i for i, r in enumerate(rules[: index - 1], start=1) if r.covers(rule)), None)
        if earlier is not None:
            problems.append(f"第 {index} 条永远不会生效：第 {earlier} 条已涵盖它适用的全部诉求。")
    missing = [name for name in CLOCK_NAMES if all(r.clock != name for r in rules)]
    if missing:
        problems.append(f"缺少以下计时的规则：{'、'.join(missing)}。")
    return problems


DEFAULT_RULES = RuleSet(
    RULES_VERSION,
    (
        ClockRule("triage", "appeal.received", Limit.working_days(1), "分拣"),
        ClockRule("sign_off", "appeal.assigned", Limit.working_days(1), "签收"),
        # Emergency help first: the programme promises 5 working days to an individual 急难 case.
        ClockRule(
            "handling",
            "appeal.assigned",
            Limit.working_days(5),
            "急难救助",
            kind="micro_wish",
            urgency="emergency",
        ),
        ClockRule("handling", "appeal.assigned", Limit.working_days(10), "政策办理", track="policy"),
        ClockRule("handling", "appeal.assigned", Limit.working_days(10), "微心愿办理", kind="micro_wish"),
        # A micro-project is handled by its works clock, which starts when the plan is approved.
        ClockRule("consultation", "appeal.triaged", Limit.working_days(20), "协商议事", kind="micro_project"),
        ClockRule("works", "plan.approved", Limit.months(6), "便民工程", kind="micro_project"),
        ClockRule("feedback", "appeal.completed", Limit.working_days(1), "结果反馈"),
    ),
)


def _nominal_month_end(start: date, months: int) -> date:
    # The same-numbered day of the n-th month, or that month's last day (Civil Code art. 202).
    year, month_index = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month_index + 1
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, min(start.day, (following - _ONE_DAY).day))


def _first_working_on_or_after(calendar: WorkingCalendar, day: date) -> date:
    while not calendar.is_working_day(day):
        day += _ONE_DAY
    return day


def due_for(
    calendar: WorkingCalendar, started_at: date | datetime, limit: Limit, pushed_days: int = 0
) -> DueDate:
    """The due date of a clock started at ``started_at``, pushed by ``pushed_days`` of pauses.

    ``pushed_days`` counts working days for a working-day limit (the period simply gets longer)
    and calendar days for a months limit (the nominal end moves, then onto a working day).
    """
    if pushed_days < 0:
        raise ValueError(f"pushed_days must not be negative, got {pushed_days}")
    if limit.kind == "working_days":
        return calendar.add_working_days(started_at, limit.value + pushed_days)
    if pushed_days == 0:
        return calendar.add_months(started_at, limit.value)
    first = local_date(started_at)
    due = _first_working_on_or_after(
        calendar, _nominal_month_end(first, limit.value) + timedelta(days=pushed_days)
    )
    counted_years = range((first + _ONE_DAY).year, due.year + 1)
    return DueDate(due, any(not calendar.has_official_data(year) for year in counted_years))


def warn_point(started_at: datetime, base_due: date, due: date, ratio: float = WARN_RATIO) -> datetime:
    """When to warn (预警): once ``ratio`` of the clock's own time is used up.

    The clock's own time is from ``started_at`` to the end of ``base_due`` (its due date without
    pauses); the warning keeps the same distance before the end of ``due``, so a pause moves the
    warning with the deadline instead of stretching it.
    """
    span = end_of_day(base_due) - started_at
    return end_of_day(due) - span * (1 - ratio)


def max_extension_days(limit: Limit) -> int:
    """The longest single extension: the clock's own length (working days, or ~30 days a month)."""
    return limit.value if limit.kind == "working_days" else 30 * limit.value


def escalation_points(
    calendar: WorkingCalendar, due: date, limit: Limit, after_level: int, now: datetime, cap: int = 100
) -> tuple[list[tuple[int, datetime]], datetime]:
    """The escalations (督办) of an overdue clock due at ``now`` after ``after_level``, and when the
    first one still to come falls.

    Level 1 falls at the deadline (the end of ``due``), level k + 1 one further full ``limit``
    after level k, counted on the calendar like the deadline itself. Returns (level, moment) for
    each level above ``after_level`` whose moment has come, in order (at most ``cap``; the rest
    wait for the next sweep), and the moment of the next level.
    """
    points: list[tuple[int, datetime]] = []
    level, day = 1, due
    while True:
        moment = end_of_day(day)
        if moment > now or len(points) >= cap:
            return points, moment
        if level > after_level:
            points.append((level, moment))
        level, day = level + 1, due_for(calendar, day, limit).due


def days_lost_to_pause(
    calendar: WorkingCalendar, kind: LimitKind, paused_at: datetime, resumed_at: datetime
) -> int:
    """How far a pause pushes a deadline: the days after the pause day, up to the resume day.

    Working days for a working-day limit (a pause and resume on the same day costs nothing;
    paused Monday and resumed Wednesday costs Tuesday and Wednesday), calendar days for months.
    """
    first, last = local_date(paused_at), local_date(resumed_at)
    if last <= first:
        return 0
    if kind == "months":
        return (last - first).days
    lost, day = 0, first + _ONE_DAY
    while day <= last:
        lost += calendar.is_working_day(day)
        day += _ONE_DAY
    return lost
