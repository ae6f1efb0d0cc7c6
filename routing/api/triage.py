"""Triage results, the manual triage queue, staff decisions, trained models."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from routing.api.deps import Actor, MaybeActor
from routing.errors import NotEscalable, NotInQueue, UnknownPolicy, UnknownUnit
from routing.models import TriageModelRecord
from routing.schemas.dispositions import AssignmentView
from routing.schemas.triage import DecisionIn, DecisionOut, EscalationIn, ModelView, QueueItemView, TriageView
from routing.service import dispositions, handover
from routing.service import triage as service
from routing.service.common import require_roles
from services.common.db import DbSession as Db
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)

router = APIRouter(prefix="/internal", tags=["triage"])


@router.get("/triage/{appeal_id}", response_model=TriageView, responses=problem_responses(NotFound))
async def get_triage(appeal_id: uuid.UUID, db: Db, actor: MaybeActor) -> TriageView:
    return TriageView.model_validate(await service.get_triage(db, appeal_id, actor))


@router.get(
    "/triage-queue", response_model=list[QueueItemView], responses=problem_responses(Unauthorized, Forbidden)
)
async def triage_queue(
    db: Db,
    actor: Actor,
    town_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    unsure: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueueItemView]:
    entries = await service.queue(db, actor, town_code=town_code, unsure=unsure, limit=limit)
    return [
        QueueItemView(
            id=e.item.id,
            appeal_id=e.item.appeal_id,
            ticket_no=e.triage.ticket_no,
            level=e.item.level,
            town_code=e.item.town_code,
            reason=e.item.reason,
            note=e.item.note,
            created_at=e.item.created_at,
            title=e.triage.title,
            description=e.triage.description,
            triage=TriageView.model_validate(e.triage),
        )
        for e in entries
    ]


@router.post(
    "/triage/{appeal_id}/decision",
    response_model=DecisionOut,
    responses=problem_responses(
        Unauthorized, Forbidden, NotFound, InvalidInput, UnknownPolicy, UnknownUnit, Conflict
    ),
    summary="A person decides (or corrects) the triage and the holder; recorded as a correction",
)
async def decide(appeal_id: uuid.UUID, body: DecisionIn, db: Db, actor: Actor) -> DecisionOut:
    row = await handover.decide(db, actor, appeal_id, service.Decision(**body.model_dump()))
    hop = await dispositions.latest_hop(db, appeal_id)
    return DecisionOut(
        triage=TriageView.model_validate(row),
        assignment=AssignmentView.model_validate(hop) if hop else None,
    )


@router.post(
    "/triage/{appeal_id}/escalation",
    response_model=QueueItemView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, NotInQueue, NotEscalable, Conflict),
    summary="上报市级: the town (from its queue) or the unit holding the appeal passes it to the city",
)
async def escalate(appeal_id: uuid.UUID, body: EscalationIn, db: Db, actor: Actor) -> QueueItemView:
    item = await handover.escalate(db, actor, appeal_id, body.note)
    row = await service.get_triage(db, appeal_id, None)
    return QueueItemView(
        id=item.id,
        appeal_id=item.appeal_id,
        ticket_no=row.ticket_no,
        level=item.level,
        town_code=item.town_code,
        reason=item.reason,
        note=item.note,
        created_at=item.created_at,
        title=row.title,
        description=row.description,
        triage=TriageView.model_validate(row),
    )


@router.get("/triage-models", response_model=list[ModelView], responses=problem_responses(Forbidden))
async def models(db: Db, actor: Actor) -> list[ModelView]:
    require_roles(actor, "city_admin", "auditor")
    rows = await db.scalars(select(TriageModelRecord).order_by(TriageModelRecord.created_at.desc()))
    return [ModelView.model_validate(r) for r in rows]
