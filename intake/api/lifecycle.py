"""Staff commands on the lifecycle (see `intake.service.commands` for the role table).

POST /internal/appeals/{id}/transitions   {to, reason}            any move a role carries
POST /internal/appeals/{id}/hold          {reason}                → on_hold (clocks pause)
POST /internal/appeals/{id}/resume        {reason}                → where it was held from
POST /internal/appeals/{id}/withdraw      {reason}                → withdrawn, at the resident's request
POST /internal/appeals/{id}/reject        {reason}                → rejected, the reason told to the resident
POST /internal/appeals/{id}/start         {reason}                approved / reopened → in_progress
POST /internal/appeals/{id}/complete      {reason}                in_progress → completed (回访 due)
POST /internal/appeals/{id}/close         {result, rating, comment}  the return visit, by staff
POST /internal/appeals/{id}/reopen        {reason}                completed → reopened (round + 1)
PUT  /internal/appeals/{id}/complained-unit {unit_type, unit_code}  保密: who the appeal complains about
GET  /internal/appeals/{id}/timeline                              the whole timeline (staff)
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from intake.api.deps import CurrentAppeal, LockedAppeal, StaffActor
from intake.errors import AlreadyEvaluated, NotAwaitingEvaluation, NotSignedOff, UseCommand, WrongRole
from intake.models import Appeal, TimelineEntry
from intake.schemas import (
    CloseRequest,
    ComplainedUnit,
    Moved,
    Reason,
    StaffTimelineEntry,
    TransitionRequest,
)
from intake.service import access, commands, confidentiality, evaluations
from intake.service.lifecycle import Status
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/internal/appeals", tags=["intake: lifecycle"])
ERRORS = problem_responses(
    NotFound, Forbidden, WrongRole, IllegalTransition, InvalidInput, UseCommand, NotSignedOff
)


def _moved(appeal: Appeal) -> Moved:
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)


@router.post("/{appeal_id}/transitions", responses=ERRORS, summary="A staff command moving the appeal")
async def staff_transition(
    body: TransitionRequest, appeal: LockedAppeal, db: Db, staff: StaffActor
) -> dict[str, str]:
    await commands.move(db, appeal, staff, body.to, body.reason)
    return {"status": appeal.status, "ticket_no": appeal.ticket_no}


def _command(target: Status, summary: str) -> None:
    async def route(body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor) -> Moved:
        await commands.move(db, appeal, staff, target, body.reason)
        return _moved(appeal)

    name = {"on_hold": "hold", "in_progress": "start", "completed": "complete", "reopened": "reopen"}
    path = name.get(target, {"withdrawn": "withdraw", "rejected": "reject"}.get(target, target))
    router.add_api_route(
        f"/{{appeal_id}}/{path}",
        route,
        methods=["POST"],
        response_model=Moved,
        responses=ERRORS,
        summary=summary,
    )


_command("on_hold", "Put on hold, waiting for the resident (clocks pause)")
_command("withdrawn", "Withdraw at the resident's request")
_command("rejected", "Reject, with the reason the resident is told")
_command("in_progress", "Start (or restart after reopening) the work")
_command("completed", "Complete the work (办结): the return visit is due")
_command("reopened", "Reopen: the work is redone as a new round")


@router.post("/{appeal_id}/resume", response_model=Moved, responses=ERRORS, summary="Resume from hold")
async def resume(body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor) -> Moved:
    await commands.resume(db, appeal, staff, body.reason)
    return _moved(appeal)


@router.post(
    "/{appeal_id}/close",
    response_model=Moved,
    responses=problem_responses(
        NotFound, Forbidden, WrongRole, AlreadyEvaluated, NotAwaitingEvaluation, InvalidInput
    ),
    summary="Close with the return visit (回访) staff made; dissatisfied reopens instead",
)
async def close(body: CloseRequest, appeal: LockedAppeal, db: Db, staff: StaffActor) -> Moved:
    commands.authorise(staff, appeal, "closed")
    await evaluations.evaluate(
        db,
        appeal,
        round_no=body.round,
        result=body.result,
        rating=body.rating,
        comment=body.comment,
        by="staff",
        actor=commands.actor_of(staff),
    )
    return _moved(appeal)


@router.put(
    "/{appeal_id}/complained-unit",
    response_model=ComplainedUnit,
    responses=ERRORS,
    summary="Record which unit the appeal complains about (保密)",
)
async def complained_unit(
    body: ComplainedUnit, appeal: LockedAppeal, db: Db, staff: StaffActor
) -> ComplainedUnit:
    commands.authorise(staff, appeal, command="complained_unit")
    if (body.unit_type is None) != (body.unit_code is None):
        raise InvalidInput("单位类型与代码须同时填写或同时为空。", field="unit_code")
    await confidentiality.note_complaint(db, appeal, body.unit_type, body.unit_code)
    return body


@router.get(
    "/{appeal_id}/timeline",
    response_model=list[StaffTimelineEntry],
    responses=problem_responses(NotFound),
    summary="The whole timeline: every step, who, when, why, which round",
)
async def timeline(appeal: CurrentAppeal, db: Db, staff: StaffActor) -> list[StaffTimelineEntry]:
    if not access.can_see(staff, appeal):
        raise NotFound()
    rows = (
        await db.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == appeal.id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ).all()
    # 保密: a resident's own words (a note, a voice transcript, a position) name them too.
    people = await confidentiality.reporters_of(db, appeal)
    return [
        StaffTimelineEntry(
            at=t.at,
            from_status=t.from_status,
            to_status=t.to_status,
            round=t.round,
            actor=t.actor,
            reason=confidentiality.timeline_reason(staff, appeal, people, t.actor, t.reason),
            description=t.public_description,
            public=t.public,
        )
        for t in rows
    ]
