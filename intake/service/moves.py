"""The one place an appeal changes state: checked, on the timeline, published, counted.

Every move: the lifecycle check (`IllegalTransition`, a 409 naming the state), a timeline entry
(who, when, why, which round), `appeal.status_changed` plus the named event of the state
(`appeal.completed`, `appeal.closed`, `appeal.reopened`, `appeal.merged`) with its data model, the
statistics counters, and a public step on every duplicate linked to this appeal, so that each of
their reporters hears of the progress too.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import IntakeSettings
from intake.models import Appeal, TimelineEntry, messaging
from intake.service.lifecycle import DESCRIPTIONS, Status, can_move
from intake.service.stats.kpi import counts_as_return, transition_deltas
from intake.service.stats.recorder import count, facts_of
from services.common.errors import IllegalTransition
from services.common.messaging import emit, utcnow
from services.common.settings import get_settings
from services.contracts.events import (
    AppealClosed,
    AppealCompleted,
    AppealMerged,
    AppealProgressed,
    AppealReopened,
    Event,
    StatusChanged,
    _Data,
    make_event,
)

# States whose reaching is told to the reporters of linked duplicates as well.
_MIRRORED: dict[str, str] = {
    "in_progress": "合并办理的主诉求已开始办理",
    "completed": "合并办理的主诉求已办结，请您评价办理结果",
    "closed": "合并办理的主诉求已办结归档",
    "reopened": "合并办理的主诉求重新办理",
    "rejected": "合并办理的主诉求不予受理",
    "withdrawn": "合并办理的主诉求已撤回，请联系我们确认您的诉求",
}


def _named_event(appeal: Appeal, target: Status, reason: str | None, data: _Data | None) -> Event | None:
    if data is None:
        match target:
            case "completed":
                data = AppealCompleted(
                    round=appeal.round,
                    unit_type=appeal.holder_type,
                    unit_code=appeal.holder_code,
                    reason=reason,
                    evaluation_due_at=appeal.evaluation_due_at,
                )
            case "closed":
                data = AppealClosed(round=appeal.round, unrated=appeal.closed_unrated, reason=reason)
            case "reopened":
                data = AppealReopened(round=appeal.round, reason=reason)
            case "merged":
                data = AppealMerged(master_id=appeal.duplicate_of, reason=reason)
            case _:
                return None
    named = {"completed": "appeal.completed", "closed": "appeal.closed", "reopened": "appeal.reopened"}
    named["merged"] = "appeal.merged"
    return make_event(named[target], "intake", data, appeal_id=appeal.id)  # type: ignore[arg-type]


def _apply(
    appeal: Appeal, current: Status, target: Status, now: datetime, handover: bool = False
) -> float | None:
    """Update the appeal's own fields for the move; returns the first completion's seconds."""
    first_completion: float | None = None
    appeal.held_from = current if target == "on_hold" else None
    appeal.status = target
    appeal.status_changed_at = now
    appeal.version += 1
    if target == "reopened":
        appeal.round += 1
        appeal.evaluation_due_at = None
    elif target == "completed":
        appeal.completed_at = now
        appeal.evaluation_due_at = now + timedelta(days=get_settings(IntakeSettings).return_visit_days)
        if appeal.first_completed_at is None:
            appeal.first_completed_at = now
            first_completion = (now - appeal.received_at).total_seconds()
    elif target == "closed":
        appeal.closed_at = now
        appeal.evaluation_due_at = None
    elif counts_as_return(target, handover):
        appeal.returns_count += 1
    elif target in ("rejected", "withdrawn"):
        appeal.closed_at = now
    return first_completion


async def transition(
    session: AsyncSession,
    appeal: Appeal,
    target: Status,
    *,
    actor: str,
    reason: str | None = None,
    description: str | None = None,
    event_id: uuid.UUID | None = None,
    data: _Data | None = None,
    public: bool = True,
    handover: bool = False,
) -> None:
    """Move an appeal along a legal path, write the timeline, publish and count the change.

    `handover`: a move to `returned` that is the town's or the city's hand-over to another unit
    (a hop), not a send-back; it counts as no return."""
    current: Status = appeal.status  # type: ignore[assignment]
    held_from: Status | None = appeal.held_from  # type: ignore[assignment]
    if not can_move(current, target, held_from):
        raise IllegalTransition(current, target)
    now = utcnow()
    first_completion = _apply(appeal, current, target, now, handover)
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=now,
            from_status=current,
            to_status=target,
            actor=actor,
            reason=reason,
            event_id=event_id,
            public_description=description or DESCRIPTIONS[target],
            public=public,
            round=appeal.round,
        )
    )
    events = [
        make_event(
            "appeal.status_changed",
            "intake",
            StatusChanged(from_status=current, to_status=target, reason=reason),
            appeal_id=appeal.id,
        )
    ]
    if (named := _named_event(appeal, target, reason, data)) is not None:
        events.append(named)
    await emit(session, messaging, *events)
    deltas = transition_deltas(
        target,
        round_no=appeal.round,
        returns_count=appeal.returns_count,
        first_completion_s=first_completion,
        unrated=appeal.closed_unrated,
        handover=handover,
    )
    await count(session, facts_of(appeal), now, deltas)
    if target in _MIRRORED:
        await _tell_followers(session, appeal, target, now)


async def _tell_followers(session: AsyncSession, master: Appeal, target: Status, now: datetime) -> None:
    """Each linked duplicate gets the master's progress on its own timeline and channel."""
    followers = (
        await session.scalars(
            select(Appeal)
            .where(Appeal.duplicate_of == master.id, Appeal.status == "merged")
            .with_for_update()
        )
    ).all()
    text = f"{_MIRRORED[target]}（主诉求 {master.ticket_no}）"
    for follower in followers:
        follower.round = master.round
        follower.version += 1
        if target == "completed":
            follower.evaluation_due_at = master.evaluation_due_at
        session.add(
            TimelineEntry(
                appeal_id=follower.id,
                at=now,
                from_status="merged",
                to_status="merged",
                actor=f"master:{master.ticket_no}",
                public_description=text,
                round=master.round,
            )
        )
        data = AppealProgressed(
            description=text, round=master.round, master_id=master.id, master_status=target
        )
        await emit(session, messaging, make_event("appeal.progressed", "intake", data, appeal_id=follower.id))


async def advance(
    session: AsyncSession,
    appeal: Appeal,
    target: Status,
    *,
    actor: str,
    reason: str | None = None,
    description: str | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """A move another service's event asks for, even while the appeal is on hold.

    On hold, the move is applied to where the appeal will resume (`held_from`) and written to the
    timeline; the appeal stays on hold and its clocks stay paused. Returns whether anything moved.
    """
    if appeal.status != "on_hold":
        if not can_move(appeal.status, target):  # type: ignore[arg-type]
            return False
        await transition(
            session, appeal, target, actor=actor, reason=reason, description=description, event_id=event_id
        )
        return True
    held: Status | None = appeal.held_from  # type: ignore[assignment]
    if held is None or not can_move(held, target) or not can_move(target, "on_hold"):
        return False
    appeal.held_from = target
    appeal.version += 1
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=utcnow(),
            from_status=held,
            to_status=target,
            actor=actor,
            reason=reason,
            event_id=event_id,
            public_description=f"{description or DESCRIPTIONS[target]}（暂停计时中）",
            round=appeal.round,
        )
    )
    return True
