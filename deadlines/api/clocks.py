"""Internal REST API of the deadlines service (``/internal``, service tokens only).

The gateway forwards ``/api/v1/calendar/*`` here and reads an appeal's clocks for its public page.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.errors import InvalidPeriod, InvalidSchedule, InvalidStart, InvalidYear
from deadlines.schemas import (
    ClockOut,
    DueOut,
    RecomputedClockOut,
    YearScheduleIn,
    YearUploadOut,
    parse_period,
    parse_start,
)
from deadlines.service import clocks as service
from deadlines.service import schedules, uploads
from deadlines.service.rules import due_for
from services.common.auth import InternalCaller, internal_caller, require_role
from services.common.db import get_db
from services.common.errors import Forbidden, InvalidInput, Unauthorized, problem_responses

DbSession = Annotated[AsyncSession, Depends(get_db)]

router = APIRouter(
    prefix="/internal",
    tags=["deadlines"],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(Unauthorized),
)


@router.get(
    "/calendar/due",
    summary="Due date of a period in working days or months",
    responses=problem_responses(InvalidStart, InvalidPeriod),
)
async def calendar_due(
    session: DbSession,
    start: Annotated[str | None, Query(description="ISO date or datetime; naive means Asia/Shanghai")] = None,
    working_days: Annotated[str | None, Query(description="N working days (1–1000)")] = None,
    months: Annotated[str | None, Query(description="N calendar months (1–120)")] = None,
) -> DueOut:
    """The end of the period (Civil Code arts. 201–203): the deadline is the end of ``due``."""
    begin, limit = parse_start(start), parse_period(working_days, months)
    due = due_for(await schedules.current_calendar(session), begin, limit)
    return DueOut(due=due.due, provisional=due.provisional)


@router.put(
    "/calendar/years/{year}",
    summary="Upload a year's official holiday schedule",
    responses=problem_responses(InvalidYear, InvalidSchedule, InvalidInput, Forbidden),
)
async def put_calendar_year(
    year: int, body: YearScheduleIn, session: DbSession, caller: InternalCaller
) -> YearUploadOut:
    """Store the lists as the year's schedule (days of its official schedule left out only when
    named for removal or with ``replace``); every clock the change touches is recomputed and listed."""
    if caller.actor is not None:
        require_role(caller.actor, "city_admin")  # the schedule is the city's to publish
    uploaded_by = caller.actor.username if caller.actor is not None else f"service:{caller.service}"
    result = await uploads.upload_year(
        session,
        year,
        holidays=body.holidays,
        workdays=body.workdays,
        remove_holidays=body.remove_holidays,
        remove_workdays=body.remove_workdays,
        replace=body.replace,
        uploaded_by=uploaded_by,
    )
    return YearUploadOut(
        year=year,
        recomputed=len(result.clocks),
        now_off=result.now_off,
        now_working=result.now_working,
        clocks=[
            RecomputedClockOut(
                clock_id=r.clock.id,
                appeal_id=r.clock.appeal_id,
                clock=r.clock.clock,
                state=r.clock.state,
                due_date_before=r.due_date_before,
                due_date=r.clock.due_date,
                original_due_date=r.clock.original_due_date,
                provisional=r.clock.provisional,
            )
            for r in result.clocks
        ],
    )


@router.get("/clocks", summary="An appeal's deadline clocks", responses=problem_responses(InvalidInput))
async def list_clocks(session: DbSession, appeal_id: Annotated[UUID, Query()]) -> list[ClockOut]:
    """Every clock of the appeal, oldest first."""
    clocks = await service.clocks_of(session, appeal_id)
    return [ClockOut.model_validate(c) for c in clocks]
