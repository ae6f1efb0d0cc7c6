"""Who holds an appeal, and who may decide where it goes next (pure).

After triage: policy → the department; micro-projects → the community first; express → the village
or town that holds the special fund; direct → the town, which runs the donor pool; station → a
matching 莞家驿站 when there is one, else the town, which dispatches to its stations.

Send-backs (退单) are capped per appeal (default 2). Before the cap, a send-back returns the appeal
to triage (the town's manual queue). At the cap the town decides, and its decision is binding;
the town may pass the case up, and then the city decides. A case no single department owns goes
on a joint meeting's agenda (联席会议) at the town or the city, whose decision assigns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.contracts.vocabulary import SEND_BACK_REASON_NAMES, UnitType

Purpose = Literal["handle", "consult"]
Level = Literal["town", "city"]

DEFAULT_SEND_BACK_CAP = 2

SEND_BACK_REASONS: dict[str, str] = SEND_BACK_REASON_NAMES
"""Reason codes a unit may give for a send-back, with the Chinese shown to the next desk."""


@dataclass(frozen=True)
class Holder:
    """The unit that receives the appeal and what for."""

    unit_type: UnitType
    unit_code: str
    purpose: Purpose


def first_holder(
    *,
    kind: str,
    track: str,
    department: str | None,
    town_code: str | None,
    village_code: str | None,
    station_code: str | None = None,
) -> Holder:
    """The first assignment after triage."""
    if town_code is None:
        # Unknown place: the city's manual triage desk decides (一口办理).
        return Holder("city", "city", "handle")
    local: tuple[UnitType, str] = ("village", village_code) if village_code else ("town", town_code)
    if kind == "micro_project":
        # 民生微实事 are decided by the community before anything is built.
        return Holder(local[0], local[1], "consult")
    if track == "policy" and department:
        return Holder("department", department, "handle")
    if track == "station" and station_code:
        return Holder("station", station_code, "handle")
    if track in ("direct", "station"):
        # The town runs the donor pool (爱心资源库) and dispatches to its stations (莞家驿站).
        return Holder("town", town_code, "handle")
    return Holder(local[0], local[1], "handle")


def decision_level(send_backs: int, cap: int, escalated: bool, town_code: str | None) -> Level:
    """Who decides where an appeal goes after a send-back: the town until the city is needed."""
    if escalated or town_code is None:
        return "city"
    return "town"


def may_send_back(send_backs: int, cap: int, binding: bool) -> bool:
    """A unit may send back unless the assignment is binding or the cap is used up."""
    return not binding and send_backs < cap


def binding_after(send_backs: int, cap: int) -> bool:
    """Whether the next assignment, decided at the town or the city, is binding."""
    return send_backs >= cap
