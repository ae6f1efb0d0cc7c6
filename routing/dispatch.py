"""Who holds an appeal after triage (pure): policy → department; micro-projects → the community
first; express and direct → the village or town fund holder; station → the town's stations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UnitType = Literal["city", "town", "village", "department", "station"]
Purpose = Literal["handle", "consult"]


@dataclass(frozen=True)
class Holder:
    """The unit that receives the appeal and what for."""

    unit_type: UnitType
    unit_code: str
    purpose: Purpose


def first_holder(
    *, kind: str, track: str, department: str | None, town_code: str | None, village_code: str | None
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
    if track in ("direct", "station"):
        # The town runs the donor pool (爱心资源库) and dispatches to its stations (莞家驿站).
        return Holder("town", town_code, "handle")
    return Holder(local[0], local[1], "handle")
