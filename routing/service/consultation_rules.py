"""Quorum and majority of community consultations (协商议事), as the organic laws set them (pure).

- 村民委员会组织法 art. 22 / 城市居民委员会组织法 art. 10: a residents' (villagers') meeting
  (居民会议 / 村民会议, body ``assembly``) may meet when **more than half** of the residents aged
  18 or over, **or two-thirds or more** of the households' representatives, are present.
- 村民委员会组织法 art. 26: a representatives' meeting (代表会议, body ``representatives``) may meet
  when **two-thirds or more** of its members are present.
- Either way, a decision needs **more than half of those present** (到会人员的过半数): abstentions
  and absent votes count against, and a tie fails.

"More than half" (过半数) excludes half itself; "two-thirds or more" (三分之二以上) includes
two-thirds (民法典 art. 1259: 以上 includes the number). Integers only, so no rounding can creep in.

A consultation decides the five points (五议) of a micro-project: necessity, feasibility, budget,
beneficiaries and implementer; the plan passes only when every point passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.contracts.vocabulary import CONSULTATION_FORM_NAMES

Body = Literal["assembly", "representatives"]
POINTS: tuple[str, ...] = ("necessity", "feasibility", "budget", "beneficiaries", "implementer")
POINT_NAMES: dict[str, str] = {
    "necessity": "必要性",
    "feasibility": "可行性",
    "budget": "预算",
    "beneficiaries": "受益对象",
    "implementer": "实施主体",
}
# The vocabulary's labels, keyed by plain str so a form read from a request can be looked up.
FORM_NAMES: dict[str, str] = dict(CONSULTATION_FORM_NAMES.items())
# Which body each form is by default: councils and joint meetings are made of members
# (representatives); hearings and online consultations are open to every eligible resident.
DEFAULT_BODY: dict[str, Body] = {
    "residents_council": "representatives",
    "party_masses_joint": "representatives",
    "public_hearing": "assembly",
    "online": "assembly",
}


def more_than_half(part: int, whole: int) -> bool:
    """过半数: strictly more than half."""
    return whole > 0 and 2 * part > whole


def two_thirds_or_more(part: int, whole: int) -> bool:
    """三分之二以上: two-thirds included."""
    return whole > 0 and 3 * part >= 2 * whole


@dataclass(frozen=True)
class Attendance:
    """Who could come and who came. Households only matter to an assembly."""

    eligible: int
    present: int
    households_total: int | None = None
    households_present: int | None = None

    def __post_init__(self) -> None:
        if self.eligible < 0 or self.present < 0 or self.present > self.eligible:
            raise ValueError("present must be between 0 and eligible")
        if (self.households_total is None) != (self.households_present is None):
            raise ValueError("households_total and households_present go together")
        total, present = self.households_total, self.households_present
        if total is not None and present is not None and not 0 <= present <= total:
            raise ValueError("households_present must be between 0 and households_total")


def quorum_met(body: Body, attendance: Attendance) -> bool:
    """Whether the meeting may decide at all."""
    if body == "representatives":
        return two_thirds_or_more(attendance.present, attendance.eligible)
    by_people = more_than_half(attendance.present, attendance.eligible)
    by_households = (
        attendance.households_total is not None
        and attendance.households_present is not None
        and two_thirds_or_more(attendance.households_present, attendance.households_total)
    )
    return by_people or by_households


@dataclass(frozen=True)
class Vote:
    """The count on one point."""

    yes: int
    no: int
    abstain: int = 0

    def __post_init__(self) -> None:
        if min(self.yes, self.no, self.abstain) < 0:
            raise ValueError("votes cannot be negative")


def passes(vote: Vote, present: int) -> bool:
    """More than half of those present voted yes (a tie, or abstentions, fail)."""
    if vote.yes + vote.no + vote.abstain > present:
        raise ValueError("more votes than people present")
    return more_than_half(vote.yes, present)


@dataclass(frozen=True)
class Outcome:
    """What the meeting decided: no decision (no quorum), passed, or rejected with the failed points."""

    quorum: bool
    passed: bool
    failed_points: tuple[str, ...]

    def reason(self) -> str | None:
        """Why it did not pass, in Chinese, for the resident."""
        if not self.quorum:
            return "到会人数未达法定人数，会议决定无效。"
        if self.failed_points:
            names = "、".join(POINT_NAMES[p] for p in self.failed_points)
            return f"协商未获到会人员过半数同意（未通过事项：{names}）。"
        return None


def decide(body: Body, attendance: Attendance, votes: dict[str, Vote]) -> Outcome:
    """The outcome of a consultation on the five points."""
    missing = [p for p in POINTS if p not in votes]
    if missing:
        raise ValueError(f"votes missing for {', '.join(missing)}")
    if not quorum_met(body, attendance):
        return Outcome(quorum=False, passed=False, failed_points=())
    failed = tuple(p for p in POINTS if not passes(votes[p], attendance.present))
    return Outcome(quorum=True, passed=not failed, failed_points=failed)
