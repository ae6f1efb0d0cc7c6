"""Duplicates: candidates with score and reasons; staff confirm, reject or undo.

GET  /internal/appeals/{id}/duplicates                       candidates, masters, linked duplicates
POST /internal/appeals/{id}/duplicates/{master_id}/confirm   {reason}  link this appeal to that one
POST /internal/appeals/{id}/duplicates/{master_id}/reject    {reason}  not the same matter
POST /internal/appeals/{id}/duplicates/undo                  {reason}  undo a link: back where it was
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import or_, select

from intake.api.deps import CurrentAppeal, LockedAppeal, StaffActor
from intake.errors import WrongRole
from intake.models import Appeal, DuplicateLink
from intake.schemas import DuplicateView, Moved, Reason
from intake.service import access, commands
from intake.service.access import can_see
from intake.service.duplicates import service as duplicates
from intake.service.duplicates.service import HasFollowers, NotLinked, SameAppeal
from intake.service.records import get_appeal
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/internal/appeals", tags=["intake: duplicates"])
ERRORS = problem_responses(
    NotFound, Forbidden, WrongRole, IllegalTransition, HasFollowers, NotLinked, SameAppeal
)


@router.get(
    "/{appeal_id}/duplicates",
    response_model=list[DuplicateView],
    responses=problem_responses(NotFound),
    summary="Duplicate candidates and links of an appeal, with score and reasons",
)
async def list_duplicates(appeal: CurrentAppeal, db: Db, staff: StaffActor) -> list[DuplicateView]:
    if not can_see(staff, appeal):
        raise NotFound()
    rows = (
        await db.execute(
            select(DuplicateLink, Appeal)
            .join(
                Appeal,
                or_(
                    (DuplicateLink.appeal_id == appeal.id) & (Appeal.id == DuplicateLink.master_id),
                    (DuplicateLink.master_id == appeal.id) & (Appeal.id == DuplicateLink.appeal_id),
                ),
            )
            .order_by(DuplicateLink.score.desc())
        )
    ).all()
    return [
        DuplicateView(
            appeal_id=other.id,
            ticket_no=other.ticket_no,
            status=other.status,
            role="master" if link.appeal_id == appeal.id else "duplicate",
            state=link.state,
            score=link.score,
            reasons=list(link.reasons),
            auto=link.auto,
            repeat=link.repeat,
            decided_by=link.decided_by,
            decided_at=link.decided_at,
        )
        for link, other in rows
    ]


@router.post(
    "/{appeal_id}/duplicates/{master_id}/confirm",
    response_model=Moved,
    responses=ERRORS,
    summary="Confirm: this appeal duplicates that one (it is linked, status merged, nothing deleted)",
)
async def confirm(
    master_id: uuid.UUID, body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor
) -> Moved:
    commands.authorise(staff, appeal, "merged")
    master = await get_appeal(db, master_id, lock=True)
    if not can_see(staff, master):
        raise NotFound()
    master = await duplicates.root_of(db, master)
    await duplicates.link(
        db, appeal, master, actor=commands.actor_of(staff), reason=(body.reason or "").strip() or None
    )
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)


@router.post(
    "/{appeal_id}/duplicates/{master_id}/reject",
    responses=ERRORS,
    summary="Reject a suggested candidate: not the same matter",
)
async def reject(
    master_id: uuid.UUID, body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor
) -> dict[str, str]:
    commands.authorise(staff, appeal, command="duplicates")
    if not access.can_act(staff, appeal):
        raise Forbidden()
    row = await duplicates.decide_suggestion(
        db, appeal, master_id, actor=commands.actor_of(staff), reason=body.reason
    )
    return {"state": row.state}


@router.post(
    "/{appeal_id}/duplicates/undo",
    response_model=Moved,
    responses=ERRORS,
    summary="Undo a link: the appeal goes back to where it was and is handled on its own",
)
async def undo(body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor) -> Moved:
    commands.authorise(staff, appeal, command="duplicates")
    if not access.can_act(staff, appeal):
        raise Forbidden()
    reason = (body.reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput("请填写取消合并的理由。", field="reason")
    await duplicates.undo(db, appeal, actor=commands.actor_of(staff), reason=reason)
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)
