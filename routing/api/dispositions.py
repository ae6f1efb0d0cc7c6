"""Hops: history, sign-off (签收), send-back (退单); joint meetings (联席会议)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from routing.api.deps import Actor, MaybeActor
from routing.errors import NotInQueue, SendBackRefused, UnknownUnit
from routing.schemas.dispositions import (
    AgendaIn,
    AgendaItemView,
    AssignmentView,
    MeetingDecisionIn,
    MeetingIn,
    MeetingView,
    SendBack,
)
from routing.service import dispositions as service
from routing.service import joint_meetings
from routing.service.dispatch import SEND_BACK_REASONS
from routing.service.triage import get_triage
from services.common.db import DbSession as Db
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)

router = APIRouter(prefix="/internal", tags=["dispositions"])


@router.get(
    "/assignments/{appeal_id}", response_model=list[AssignmentView], responses=problem_responses(NotFound)
)
async def history(appeal_id: uuid.UUID, db: Db, actor: MaybeActor) -> list[AssignmentView]:
    await get_triage(db, appeal_id, actor)
    return [AssignmentView.model_validate(h) for h in await service.hops(db, appeal_id)]


@router.get("/send-back-reasons", response_model=dict[str, str], summary="Reason codes of a send-back")
async def reasons() -> dict[str, str]:
    return SEND_BACK_REASONS


@router.post(
    "/assignments/{appeal_id}/sign-off",
    response_model=AssignmentView,
    responses=problem_responses(Unauthorized, NotFound, Forbidden, Conflict),
)
async def sign_off(appeal_id: uuid.UUID, db: Db, actor: Actor) -> AssignmentView:
    return AssignmentView.model_validate(await service.sign_off(db, appeal_id, actor))


@router.post(
    "/assignments/{appeal_id}/return",
    response_model=AssignmentView,
    responses=problem_responses(Unauthorized, NotFound, Forbidden, Conflict, SendBackRefused, InvalidInput),
)
async def send_back(appeal_id: uuid.UUID, body: SendBack, db: Db, actor: Actor) -> AssignmentView:
    assignment = await service.send_back(db, appeal_id, actor, body.reason_code, body.policy_basis)
    return AssignmentView.model_validate(assignment)


@router.post(
    "/triage/{appeal_id}/agenda",
    response_model=AgendaItemView,
    status_code=201,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, NotInQueue, Conflict),
    summary="Put a case no single department owns on a joint meeting's agenda",
)
async def to_agenda(appeal_id: uuid.UUID, body: AgendaIn, db: Db, actor: Actor) -> AgendaItemView:
    item = await joint_meetings.submit(db, actor, appeal_id, body.level, body.reason)
    return AgendaItemView.model_validate(item)


@router.get(
    "/joint-meetings/agenda", response_model=list[AgendaItemView], responses=problem_responses(Forbidden)
)
async def agenda(
    db: Db,
    actor: Actor,
    level: Annotated[str, Query(pattern="^(town|city)$")],
    org_code: Annotated[str, Query(max_length=32)],
) -> list[AgendaItemView]:
    return [AgendaItemView.model_validate(i) for i in await joint_meetings.agenda(db, actor, level, org_code)]


@router.post(
    "/joint-meetings",
    response_model=MeetingView,
    status_code=201,
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput),
)
async def create_meeting(body: MeetingIn, db: Db, actor: Actor) -> MeetingView:
    meeting = await joint_meetings.create_meeting(
        db, actor, body.level, body.org_code, body.title, body.held_on
    )
    return MeetingView.model_validate(meeting)


@router.post(
    "/joint-meetings/{meeting_id}/decisions",
    response_model=AgendaItemView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, UnknownUnit, Conflict),
    summary="The meeting's decision assigns the case to its lead unit, bindingly",
)
async def decide(meeting_id: uuid.UUID, body: MeetingDecisionIn, db: Db, actor: Actor) -> AgendaItemView:
    item = await joint_meetings.decide(
        db,
        actor,
        meeting_id,
        body.appeal_id,
        lead=(body.lead.unit_type, body.lead.unit_code),
        assisting=[(u.unit_type, u.unit_code) for u in body.assisting],
        decision=body.decision,
    )
    return AgendaItemView.model_validate(item)
