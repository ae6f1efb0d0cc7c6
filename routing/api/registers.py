"""The city's registers, imported in bulk (issue 16.12): all rows or none, idempotent.

POST /internal/reference/villages   {rows: [VillageRow], dry_run}
POST /internal/reference/stations   {rows: [StationRow], dry_run}
POST /internal/reference/donors     {rows: [DonorRow], dry_run}   optional `Idempotency-Key`
A bad row refuses the whole import: 422 `reference_rows_invalid` with `errors` [{row, column,
message}]. City admins only. A donors import with an `Idempotency-Key` answers a retry with the
first report, new donors' keys included (`Idempotent-Replayed: true`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from routing.api.deps import Actor
from routing.service import registers
from services.common.db import DbSession as Db
from services.common.errors import (
    PROBLEM_JSON,
    Forbidden,
    IdempotencyConflict,
    Unauthorized,
    problem_responses,
)
from services.common.reference.importing import ConcurrentImport, RowsInvalid
from services.contracts.reference import DonorImport, ImportReport, StationImport, VillageImport

router = APIRouter(prefix="/internal/reference", tags=["reference registers"])
ERRORS = problem_responses(Unauthorized, Forbidden, RowsInvalid, ConcurrentImport)


@router.post("/villages", response_model=ImportReport, responses=ERRORS, summary="Import villages")
async def villages(body: VillageImport, db: Db, actor: Actor) -> ImportReport:
    return await registers.import_villages(db, actor, body.rows, dry_run=body.dry_run)


@router.post("/stations", response_model=ImportReport, responses=ERRORS, summary="Import stations")
async def stations(body: StationImport, db: Db, actor: Actor) -> ImportReport:
    return await registers.import_stations(db, actor, body.rows, dry_run=body.dry_run)


@router.post(
    "/donors",
    response_model=ImportReport,
    responses=problem_responses(Unauthorized, Forbidden, RowsInvalid, ConcurrentImport, IdempotencyConflict),
    summary="Import donors; with an Idempotency-Key a retry answers the first report, keys included",
)
async def donors(
    body: DonorImport,
    db: Db,
    actor: Actor,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response | ImportReport:
    if not idempotency_key:
        return await registers.import_donors(db, actor, body.rows, dry_run=body.dry_run)
    outcome = await registers.import_donors_once(
        db, actor, body.rows, dry_run=body.dry_run, idempotency_key=idempotency_key
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    if outcome.failed:
        problem = {**outcome.body, "instance": request.url.path}
        return JSONResponse(problem, status_code=outcome.status, media_type=PROBLEM_JSON, headers=headers)
    return JSONResponse(outcome.body, headers=headers)
