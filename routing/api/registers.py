"""The city's registers, imported in bulk (issue 16.12): all rows or none, idempotent.

POST /internal/reference/villages   {rows: [VillageRow], dry_run}
POST /internal/reference/stations   {rows: [StationRow], dry_run}
POST /internal/reference/donors     {rows: [DonorRow], dry_run}
A bad row refuses the whole import: 422 `reference_rows_invalid` with `errors` [{row, column,
message}]. City admins only.
"""

from __future__ import annotations

from fastapi import APIRouter

from routing.api.deps import Actor
from routing.service import registers
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, Unauthorized, problem_responses
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


@router.post("/donors", response_model=ImportReport, responses=ERRORS, summary="Import donors")
async def donors(body: DonorImport, db: Db, actor: Actor) -> ImportReport:
    return await registers.import_donors(db, actor, body.rows, dry_run=body.dry_run)
