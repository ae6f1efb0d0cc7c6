"""莞家驿站: the registry, dispatch to a station, service records and their confirmation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from routing.api.deps import Actor, MaybeActor
from routing.schemas.dispositions import AssignmentView
from routing.schemas.stations import (
    ConfirmationIn,
    DispatchIn,
    ServiceRecordIn,
    ServiceRecordView,
    StationIn,
    StationTotals,
    StationView,
)
from routing.service import handover
from routing.service import stations as service
from routing.service.triage import get_triage
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)

router = APIRouter(prefix="/internal", tags=["stations"])


def _data(body: StationIn) -> service.StationData:
    return service.StationData(
        name=body.name,
        town_code=body.town_code,
        village_code=body.village_code,
        services=body.services,
        team=[m.model_dump() for m in body.team],
        active=body.active,
    )


@router.post(
    "/stations/{code}",
    response_model=StationView,
    status_code=201,
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput, Conflict),
    summary="Register a station (town or city staff)",
)
async def register(code: str, body: StationIn, db: Db, actor: Actor) -> StationView:
    return StationView.model_validate(await service.register(db, actor, code, _data(body)))


@router.put(
    "/stations/{code}",
    response_model=StationView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput),
)
async def update(code: str, body: StationIn, db: Db, actor: Actor) -> StationView:
    return StationView.model_validate(await service.update(db, actor, code, _data(body)))


@router.get("/stations", response_model=list[StationView])
async def listing(
    db: Db,
    caller: InternalCaller,
    town_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    village_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    service_category: Annotated[str | None, Query(alias="service", max_length=32)] = None,
) -> list[StationView]:
    rows = await service.listing(db, town_code=town_code, village_code=village_code, service=service_category)
    return [StationView.model_validate(s) for s in rows]


@router.get("/stations/{code}", response_model=StationView, responses=problem_responses(NotFound))
async def one(code: str, db: Db, caller: InternalCaller) -> StationView:
    return StationView.model_validate(await service.get(db, code))


@router.get("/stations/{code}/totals", response_model=StationTotals, responses=problem_responses(NotFound))
async def totals(code: str, db: Db, caller: InternalCaller) -> StationTotals:
    await service.get(db, code)
    return StationTotals(**await service.totals(db, code))


@router.post(
    "/stations/{code}/assignments",
    response_model=AssignmentView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
    summary="The town sends a station-track appeal to this station",
)
async def dispatch(code: str, body: DispatchIn, db: Db, actor: Actor) -> AssignmentView:
    return AssignmentView.model_validate(
        await handover.dispatch_to_station(db, actor, code, body.appeal_id, body.note)
    )


@router.post(
    "/stations/{code}/service-records",
    response_model=ServiceRecordView,
    status_code=201,
    responses=problem_responses(Unauthorized, Forbidden, NotFound),
)
async def record_service(code: str, body: ServiceRecordIn, db: Db, actor: Actor) -> ServiceRecordView:
    record = await service.record_service(
        db,
        actor,
        code,
        body.appeal_id,
        served_on=body.served_on,
        visits=body.visits,
        minutes=body.minutes,
        description=body.description,
        workers=[w.model_dump() for w in body.workers],
    )
    return ServiceRecordView.model_validate(record)


@router.get("/service-records", response_model=list[ServiceRecordView], responses=problem_responses(NotFound))
async def records(appeal_id: uuid.UUID, db: Db, actor: MaybeActor) -> list[ServiceRecordView]:
    await get_triage(db, appeal_id, actor)
    return [ServiceRecordView.model_validate(r) for r in await service.records(db, appeal_id)]


@router.post(
    "/service-records/{record_id}/confirmation",
    response_model=ServiceRecordView,
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="The beneficiary (ticket checked by the gateway) or staff confirm a service",
)
async def confirm(record_id: uuid.UUID, body: ConfirmationIn, db: Db, actor: MaybeActor) -> ServiceRecordView:
    record = await service.confirm_service(db, record_id, principal=actor, ticket_no=body.ticket_no)
    return ServiceRecordView.model_validate(record)
