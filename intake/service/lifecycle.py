"""The appeal's lifecycle (诉求生命周期, DESIGN §4) as pure functions: states, checked moves.

```
received ─► triaged ─► consulting ─► approved ─► in_progress ─► completed ─► closed
               │        (micro-projects)  ▲           │  ▲            │
               │                          │           │  └─ reopened ◄┘ (resident not satisfied)
               └──────────► approved ─────┘           │
side states: on_hold (clocks pause), returned (send-back: back to triage, also from consulting)
terminal: closed, rejected, merged, withdrawn
```
A linked duplicate (merged) can be put back by staff (`can_unmerge`): a correction, not a move.
"""

from __future__ import annotations

from services.contracts.vocabulary import STATUSES as STATUSES
from services.contracts.vocabulary import Status as Status

TERMINAL: frozenset[Status] = frozenset({"closed", "rejected", "merged", "withdrawn"})
# States an appeal can be put on hold from, and so resumed back to.
HOLDABLE: frozenset[Status] = frozenset(
    {"received", "triaged", "consulting", "approved", "in_progress", "reopened"}
)

_MOVES: dict[Status, frozenset[Status]] = {
    "received": frozenset({"triaged", "on_hold", "rejected", "merged", "withdrawn"}),
    "triaged": frozenset(
        {"consulting", "approved", "returned", "on_hold", "rejected", "merged", "withdrawn"}
    ),
    # A village may send back (退单) a micro-project it holds for consultation.
    "consulting": frozenset({"approved", "returned", "on_hold", "rejected", "merged", "withdrawn"}),
    "approved": frozenset({"in_progress", "returned", "on_hold", "merged", "withdrawn"}),
    "in_progress": frozenset({"completed", "returned", "on_hold", "withdrawn"}),
    "completed": frozenset({"closed", "reopened"}),
    "reopened": frozenset({"in_progress", "on_hold", "withdrawn"}),
    "returned": frozenset({"triaged", "rejected", "merged", "withdrawn"}),
    "on_hold": frozenset(HOLDABLE | {"withdrawn"}),
    "closed": frozenset(),
    "rejected": frozenset(),
    "merged": frozenset(),
    "withdrawn": frozenset(),
}

DESCRIPTIONS: dict[Status, str] = {
    "received": "诉求已受理",
    "triaged": "诉求已完成分拣",
    "consulting": "已提交村（社区）协商议事",
    "approved": "办理方案已确定",
    "in_progress": "承办单位已签收，正在办理",
    "completed": "已办结，等待回访",
    "reopened": "群众不满意，重新办理",
    "closed": "已回访，办理结束",
    "on_hold": "等待群众补充材料，暂停计时",
    "returned": "承办单位退回，重新分拣",
    "rejected": "不予受理",
    "merged": "与其他诉求合并办理",
    "withdrawn": "群众已撤回诉求",
}


def can_move(current: Status, target: Status, held_from: Status | None = None) -> bool:
    """Whether `current -> target` is a legal move. Resuming from hold must return where it was."""
    if target not in _MOVES[current]:
        return False
    if current == "on_hold" and target != "withdrawn":
        return held_from is not None and target == held_from
    return True


# A duplicate may be linked (merged) only before work on it has started; undoing a link is a
# correction that puts it back where it was, outside the ordinary moves (merged stays terminal).
MERGEABLE: frozenset[Status] = frozenset({"received", "triaged", "consulting", "approved", "returned"})
# Where an appeal's round of work ends: the resident is asked (回访) while it is completed.
ACTIVE: frozenset[Status] = frozenset(
    {
        "received",
        "triaged",
        "consulting",
        "approved",
        "in_progress",
        "completed",
        "reopened",
        "on_hold",
        "returned",
    }
)


# 撤回 by the resident themselves: only before work starts (the holder signed it off and began).
RESIDENT_WITHDRAWABLE: frozenset[Status] = frozenset(
    {"received", "triaged", "consulting", "approved", "returned"}
)


def resident_may_withdraw(current: Status, held_from: Status | None = None) -> bool:
    """Whether the resident may withdraw their own appeal now: before work starts, including
    while it waits for them (on hold) from such a state."""
    if current == "on_hold":
        return held_from in RESIDENT_WITHDRAWABLE
    return current in RESIDENT_WITHDRAWABLE


def can_unmerge(current: Status, pre_merge: Status | None) -> bool:
    """Whether a wrongly linked duplicate can be put back where it was before the link."""
    return current == "merged" and pre_merge is not None and pre_merge in MERGEABLE


def allowed_moves(current: Status) -> frozenset[Status]:
    """Every state reachable in one move."""
    return _MOVES[current]


def is_terminal(status: Status) -> bool:
    """No move leaves a terminal state."""
    return status in TERMINAL
