"""What the gateway asks on a resident's behalf: their appeals, their rating, their withdrawal.

GET  /internal/residents/appeals?openid=|phone_hash=     the resident's own appeals, newest first
POST /internal/appeals/{id}/evaluation                    a return visit (回访), once per round
POST /internal/appeals/{id}/withdraw-by-resident          the resident withdraws their own appeal
POST /internal/public/withdrawals                          the same with ticket and query code (查询码)
POST /internal/public/evaluations                          a rating with ticket and query code

Withdrawal by the resident is possible before work starts only; after, `409 work_started`.

The evaluation body: `{"round": int|null, "result": "resolved"|"partly"|"not", "rating":
"satisfied"|"basically_satisfied"|"dissatisfied", "comment": str|null, "by": "reporter"|"staff",
"openid": str|null}`. A second rating of the same round is a 409 `already_evaluated`; dissatisfied
reopens the appeal, anything else closes it. With an openid, only a reporter of the appeal may rate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from intake.api.deps import LockedAppeal
from intake.errors import AlreadyEvaluated, NotAwaitingEvaluation, WorkStarted
from intake.schemas import (
    CodeEvaluation,
    CodeWithdrawal,
    EvaluationRequest,
    Moved,
    OwnAppeal,
    ResidentWithdrawal,
)
from intake.service import access, commands, evaluations, records
from intake.service.residents import own_appeals
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/internal", tags=["intake: residents"])


@router.get(
    "/residents/appeals",
    response_model=list[OwnAppeal],
    responses=problem_responses(InvalidInput),
    summary="A resident's own appeals, newest first (public-safe fields, timeline, return visits)",
)
async def resident_appeals(
    db: Db,
    caller: InternalCaller,
    openid: Annotated[str | None, Query(max_length=64)] = None,
    phone_hash: Annotated[str | None, Query(max_length=64)] = None,
) -> list[OwnAppeal]:
    if not openid and not phone_hash:
        raise InvalidInput("请提供 openid 或 phone_hash。", field="openid")
    return await own_appeals(db, openid=openid, phone_hash=phone_hash)


@router.post(
    "/appeals/{appeal_id}/evaluation",
    response_model=Moved,
    responses=problem_responses(NotFound, Forbidden, AlreadyEvaluated, NotAwaitingEvaluation),
    summary="Record a return visit (回访) once per round: dissatisfied reopens, otherwise closes",
)
async def evaluation(body: EvaluationRequest, appeal: LockedAppeal, db: Db, caller: InternalCaller) -> Moved:
    if caller.actor is not None:
        commands.authorise(caller.actor, appeal, command="evaluate")
        if not access.can_act(caller.actor, appeal):
            raise Forbidden()
        actor = commands.actor_of(caller.actor)
    elif body.by == "staff":
        raise Forbidden("工作人员回访须以工作人员身份提交。")
    else:
        actor = f"reporter:{caller.service}"
    await evaluations.evaluate(
        db,
        appeal,
        round_no=body.round,
        result=body.result,
        rating=body.rating,
        comment=body.comment,
        by=body.by,
        actor=actor,
        openid=body.openid,
    )
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)


@router.post(
    "/appeals/{appeal_id}/withdraw-by-resident",
    response_model=Moved,
    responses=problem_responses(NotFound, IllegalTransition, WorkStarted),
    summary="The resident withdraws their own appeal (撤回) before work starts",
)
async def withdraw_by_resident(
    body: ResidentWithdrawal, appeal: LockedAppeal, db: Db, caller: InternalCaller
) -> Moved:
    await commands.withdraw_by_resident(
        db, appeal, openid=body.openid, phone_hash=body.phone_hash, reason=body.reason, caller=caller.service
    )
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)


@router.post(
    "/public/withdrawals",
    response_model=Moved,
    responses=problem_responses(NotFound, IllegalTransition, WorkStarted),
    summary="The resident withdraws their appeal with its query code (查询码), before work starts",
)
async def withdraw_by_code(body: CodeWithdrawal, db: Db, caller: InternalCaller) -> Moved:
    appeal = await records.get_by_ticket(db, body.ticket_no, lock=True)
    await commands.withdraw_by_code(
        db, appeal, code=body.query_code, reason=body.reason, caller=caller.service
    )
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)


@router.post(
    "/public/evaluations",
    response_model=Moved,
    responses=problem_responses(NotFound, AlreadyEvaluated, NotAwaitingEvaluation),
    summary="The resident rates with the query code (查询码), as in the mini-program; a resend answers the same",
)
async def evaluate_by_code(body: CodeEvaluation, db: Db, caller: InternalCaller) -> Moved:
    appeal = await records.get_by_ticket(db, body.ticket_no, lock=True)
    await evaluations.evaluate_by_code(
        db,
        appeal,
        code=body.query_code,
        round_no=body.round,
        result=body.result,
        rating=body.rating,
        comment=body.comment,
        caller=caller.service,
    )
    return Moved(status=appeal.status, ticket_no=appeal.ticket_no, round=appeal.round)
