"""Linking and staff decisions: link a duplicate to its master, reject a suggestion, undo a link.

A link sets the appeal `merged` with `duplicate_of` on its public status; nothing is deleted, and a
linked appeal keeps its own reporters, feedback and return visit. Each decision keeps the pair's
features, which feed the thresholds (`tune`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, DuplicateLink, TimelineEntry, messaging
from intake.service.duplicates import scorer
from intake.service.duplicates.scorer import Match
from intake.service.duplicates.service.candidates import doc_of
from intake.service.duplicates.service.errors import HasFollowers, NotLinked, SameAppeal
from intake.service.lifecycle import ACTIVE, MERGEABLE, Status, can_unmerge
from intake.service.stats.recorder import count, facts_of
from services.common.errors import IllegalTransition
from services.common.messaging import emit, utcnow
from services.contracts.events import AppealMerged, StatusChanged, make_event


async def root_of(session: AsyncSession, appeal: Appeal) -> Appeal:
    """The master at the end of a chain of links (a link never points at a duplicate for long)."""
    seen = {appeal.id}
    while appeal.duplicate_of is not None and appeal.status == "merged":
        master = await session.get(Appeal, appeal.duplicate_of)
        if master is None or master.id in seen:
            break
        seen.add(master.id)
        appeal = master
    return appeal


def rounded(features: dict[str, float]) -> dict[str, float]:
    """A pair's features as a link row keeps them (four decimals)."""
    return {k: round(v, 4) for k, v in features.items()}


async def link(
    session: AsyncSession,
    appeal: Appeal,
    master: Appeal,
    *,
    actor: str,
    match: Match | None = None,
    auto: bool = False,
    repeat: bool = False,
    reason: str | None = None,
) -> DuplicateLink:
    """Link `appeal` to `master` as its duplicate: status merged, nothing deleted."""
    from intake.service.moves import transition  # the moves module imports nothing from here

    if appeal.id == master.id:
        raise SameAppeal()
    if appeal.status not in MERGEABLE:
        raise IllegalTransition(appeal.status, "merged")
    if master.status not in ACTIVE:
        raise IllegalTransition(master.status, "merged")
    followers = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.duplicate_of == appeal.id, Appeal.status == "merged")
    )
    if followers:
        raise HasFollowers()
    if match is None:
        gap = (appeal.received_at - master.received_at).total_seconds() / 3600
        match = scorer.score(doc_of(master), doc_of(appeal), gap_hours=gap)
    row = await session.scalar(
        select(DuplicateLink)
        .where(DuplicateLink.appeal_id == appeal.id, DuplicateLink.master_id == master.id)
        .with_for_update()
    )
    now = utcnow()
    if row is None:
        row = DuplicateLink(
            appeal_id=appeal.id,
            master_id=master.id,
            score=match.score,
            reasons=list(match.reasons),
            created_at=now,
            features=rounded(match.features),
        )
        session.add(row)
    row.state, row.auto, row.repeat = "linked", auto, repeat or row.repeat
    row.decided_by, row.decided_at, row.reason = actor, now, reason
    appeal.pre_merge_status = appeal.status
    appeal.duplicate_of = master.id
    why = reason or f"与 {master.ticket_no} 为同一事项（相似度{match.score:.2f}）"
    data = AppealMerged(
        master_id=master.id, master_ticket_no=master.ticket_no, score=match.score, auto=auto, reason=why
    )
    await transition(
        session,
        appeal,
        "merged",
        actor=actor,
        reason=why,
        description=f"与诉求 {master.ticket_no} 为同一事项，合并办理；办理进展和回访照常告知您",
        data=data,
    )
    await count(session, facts_of(appeal), now, {"duplicates": 1})
    return row


async def decide_suggestion(
    session: AsyncSession, appeal: Appeal, master_id: uuid.UUID, *, actor: str, reason: str | None
) -> DuplicateLink:
    """Staff say a suggested candidate is not the same matter."""
    row = await session.scalar(
        select(DuplicateLink)
        .where(DuplicateLink.appeal_id == appeal.id, DuplicateLink.master_id == master_id)
        .with_for_update()
    )
    if row is None or row.state not in ("suggested", "rejected"):
        raise NotLinked("没有找到该疑似重复诉求的建议。")
    row.state, row.decided_by, row.decided_at, row.reason = "rejected", actor, utcnow(), reason
    return row


async def undo(session: AsyncSession, appeal: Appeal, *, actor: str, reason: str) -> Appeal:
    """Staff undo a wrong link: the appeal goes back where it was; the link stays, marked undone."""
    pre: Status | None = appeal.pre_merge_status  # type: ignore[assignment]
    if appeal.duplicate_of is None or appeal.status != "merged":
        raise NotLinked()
    if not can_unmerge("merged", pre):
        raise IllegalTransition("merged", str(pre))
    assert pre is not None
    master_id = appeal.duplicate_of
    rows = (
        await session.scalars(
            select(DuplicateLink).where(
                DuplicateLink.appeal_id == appeal.id,
                DuplicateLink.master_id == master_id,
                DuplicateLink.state == "linked",
            )
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.state, row.decided_by, row.decided_at, row.reason = "undone", actor, now, reason
    appeal.status, appeal.duplicate_of, appeal.pre_merge_status = pre, None, None
    appeal.status_changed_at = now
    appeal.version += 1
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=now,
            from_status="merged",
            to_status=pre,
            actor=actor,
            reason=reason,
            public_description="经核实不属同一事项，已取消合并，单独办理",
            round=appeal.round,
        )
    )
    await emit(
        session,
        messaging,
        make_event(
            "appeal.status_changed",
            "intake",
            StatusChanged(from_status="merged", to_status=pre, reason=reason),
            appeal_id=appeal.id,
        ),
    )
    await count(session, facts_of(appeal), now, {"duplicates": -1})
    return appeal
