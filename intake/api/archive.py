"""Archive (归档): one finished appeal as a complete record; a period as JSON lines.

GET /internal/appeals/{id}/archive                         city admins, auditors, the town in scope
GET /internal/archive/export?from=YYYY-MM-DD&to=YYYY-MM-DD  city admins and auditors; JSON lines
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from intake.api.deps import CurrentAppeal, StaffActor
from intake.errors import NotFinished, WrongRole
from intake.service import access, archive, commands, confidentiality
from services.common.db import DbSession as Db
from services.common.errors import InvalidInput, NotFound, problem_responses
from services.common.timeutil import SHANGHAI

router = APIRouter(prefix="/internal", tags=["intake: archive"])
MAX_DAYS = 366


@router.get(
    "/appeals/{appeal_id}/archive",
    responses=problem_responses(NotFound, WrongRole, NotFinished),
    summary="The complete record of a finished appeal",
)
async def archive_one(appeal: CurrentAppeal, db: Db, staff: StaffActor) -> dict[str, Any]:
    commands.authorise(staff, appeal, command="archive")
    # 保密: a town complained about reads its own archive without the reporter (issue 15.3).
    return await confidentiality.archive_for(db, staff, appeal, await archive.archive_one(db, appeal))


@router.get(
    "/archive/export",
    responses={200: {"content": {"application/x-ndjson": {}}}, **problem_responses(WrongRole, InvalidInput)},
    summary="Every appeal finished in a period, one JSON record a line",
)
async def export(
    staff: StaffActor,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> StreamingResponse:
    if not access.may(staff, "archive_export"):
        raise WrongRole()
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidInput(f"导出期间须在{MAX_DAYS}天以内，且结束日期不早于开始日期。", field="to")
    lo = datetime.combine(start, time.min, tzinfo=SHANGHAI)
    hi = datetime.combine(date.fromordinal(end.toordinal() + 1), time.min, tzinfo=SHANGHAI)
    return StreamingResponse(
        archive.export_period(lo, hi),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="archive-{start}-{end}.jsonl"'},
    )
