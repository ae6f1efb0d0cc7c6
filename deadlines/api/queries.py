"""Due and overdue lists per unit, on-time rates, an appeal's deadline history, one clock."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from deadlines.api.common import DbSession, Page, PageSize
from deadlines.errors import ClockNotFound, InvalidRange, InvalidScope, OutOfScope
from deadlines.models import Clock
from deadlines.schemas import ClockOut, ClockPage, HistoryOut, RatesOut
from deadlines.service import queries
from deadlines.service.hierarchy import Scope, Unit, may_see, resolve_scope
from services.common.auth import InternalCaller, internal_caller
from services.common.errors import InvalidInput, Unauthorized, problem_responses
from services.common.messaging import utcnow
from services.common.timeutil import local_today

router = APIRouter(
    prefix="/internal/deadlines",
    tags=["deadlines"],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(Unauthorized),
)
UnitTypeQuery = Annotated[
    str | None, Query(max_length=16, description="city, town, village, department, station")
]
UnitCode = Annotated[str | None, Query(max_length=64)]
LIST_ERRORS = problem_responses(OutOfScope, InvalidScope, InvalidInput)


async def _page(
    session: DbSession, kind: queries.ListKind, scope: Scope, page: int, page_size: int, before: date | None
) -> ClockPage:
    until = queries.local_midnight(before + timedelta(days=1)) if before is not None else None
    rows, more = await queries.clock_list(session, kind, scope, page=page, page_size=page_size, before=until)
    return ClockPage(
        items=[ClockOut.model_validate(r) for r in rows], page=page, page_size=page_size, has_more=more
    )


@router.get("/due", summary="Running clocks of a unit, earliest deadline first", responses=LIST_ERRORS)
async def due_list(
    session: DbSession,
    caller: InternalCaller,
    unit_type: UnitTypeQuery = None,
    unit_code: UnitCode = None,
    before: Annotated[date | None, Query(description="only deadlines on or before this date")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> ClockPage:
    """A unit's own clocks; a town's with its villages' and stations'; the city's all."""
    scope = resolve_scope(caller.actor, unit_type, unit_code)
    return await _page(session, "due", scope, page, page_size, before)


@router.get("/overdue", summary="Overdue clocks of a unit, earliest deadline first", responses=LIST_ERRORS)
async def overdue_list(
    session: DbSession,
    caller: InternalCaller,
    unit_type: UnitTypeQuery = None,
    unit_code: UnitCode = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> ClockPage:
    """Clocks past their deadline and not met; their escalation level says who was told."""
    scope = resolve_scope(caller.actor, unit_type, unit_code)
    return await _page(session, "overdue", scope, page, page_size, None)


@router.get(
    "/rates",
    summary="On-time rates per unit over a period (响应率, 按时办结率)",
    responses=problem_responses(OutOfScope, InvalidScope, InvalidRange, InvalidInput),
)
async def rates(
    session: DbSession,
    caller: InternalCaller,
    start: Annotated[date, Query(alias="from", description="first local date")],
    end: Annotated[date | None, Query(alias="to", description="last local date (default today)")] = None,
    unit_type: UnitTypeQuery = None,
    unit_code: UnitCode = None,
) -> RatesOut:
    """Judged against the original deadline: an extension does not rescue a late clock."""
    scope = resolve_scope(caller.actor, unit_type, unit_code)
    return await queries.unit_rates(session, scope, start, end or local_today(), utcnow())


@router.get(
    "/appeals/{appeal_id}/history",
    summary="The deadline history of an appeal",
    responses=problem_responses(InvalidInput),
)
async def history(appeal_id: uuid.UUID, session: DbSession) -> HistoryOut:
    """Every clock with each announced change, reminder (预警, 超期, 督办) and extension request."""
    return await queries.appeal_history(session, appeal_id)


@router.get(
    "/clocks/{clock_id}",
    summary="One clock",
    responses=problem_responses(ClockNotFound, InvalidInput),
)
async def get_clock(clock_id: uuid.UUID, session: DbSession, caller: InternalCaller) -> ClockOut:
    """A clock the caller's unit may see."""
    clock = await session.get(Clock, clock_id)
    if clock is None:
        raise ClockNotFound(clock_id=str(clock_id))
    if caller.actor is not None and not may_see(
        caller.actor, Unit(clock.unit_type, clock.unit_code), clock.scope_town
    ):
        raise ClockNotFound(clock_id=str(clock_id))  # outside the scope it is as unknown as a wrong id
    return ClockOut.model_validate(clock)
