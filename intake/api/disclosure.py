"""Public disclosure (信息公开) and withholding.

GET  /internal/public/disclosure?town=&village=&kind=&category=&status=&statuses=&received_from=
     &received_to=&page=&page_size=   (`statuses`: any of several, comma-separated)
GET  /internal/public/disclosure/{ticket_no}
GET  /internal/public/notices?period=current|past&town=&village=&ticket_no=&page=&page_size=
POST /internal/appeals/{id}/withhold  {reason}   staff withhold an item from the public
POST /internal/appeals/{id}/publish   {reason}   and return it
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from intake.api.deps import LockedAppeal, StaffActor
from intake.errors import WrongRole
from intake.schemas import Reason
from intake.service import access, commands, disclosure, notices
from intake.service.disclosure import Filters
from intake.service.notices import NoticeFilters
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, InvalidInput, NotFound, problem_responses
from services.contracts.disclosure import DisclosedAppeal, DisclosurePage
from services.contracts.notices import NoticePage

router = APIRouter(prefix="/internal", tags=["intake: disclosure"])


@router.get("/public/disclosure", response_model=DisclosurePage, summary="Publicly disclosed appeals")
async def public_list(
    db: Db,
    caller: InternalCaller,
    town: Annotated[str | None, Query(max_length=12)] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    statuses: Annotated[str | None, Query(max_length=300)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
) -> DisclosurePage:
    filters = Filters(
        town_code=town,
        village_code=village,
        kind=kind,
        category=category,
        status=status,
        statuses=tuple(s.strip() for s in statuses.split(",") if s.strip()) if statuses is not None else None,
        received_from=received_from,
        received_to=received_to,
    )
    return await disclosure.public_list(db, filters, page, page_size)


@router.get(
    "/public/notices", response_model=NoticePage, summary="Public notices (公示), newest meeting first"
)
async def public_notices(
    db: Db,
    caller: InternalCaller,
    period: Annotated[str | None, Query(pattern="^(current|past)$")] = None,
    town: Annotated[str | None, Query(max_length=12)] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    ticket_no: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NoticePage:
    filters = NoticeFilters(period=period, town_code=town, village_code=village, ticket_no=ticket_no)
    return await notices.public_page(db, filters, page, page_size)


@router.get(
    "/public/disclosure/{ticket_no}",
    response_model=DisclosedAppeal,
    responses=problem_responses(NotFound),
    summary="One disclosed appeal with its public timeline",
)
async def public_detail(ticket_no: str, db: Db, caller: InternalCaller) -> DisclosedAppeal:
    return await disclosure.public_detail(db, ticket_no)


async def _withhold(
    appeal: LockedAppeal, db: Db, staff: StaffActor, reason: str | None, withheld: bool
) -> dict[str, object]:
    commands.authorise(staff, appeal, command="withhold")
    if not access.can_act(staff, appeal):
        raise Forbidden()
    text = (reason or "").strip()
    if len(text) < 2:
        raise InvalidInput("请填写理由（至少2个字）。", field="reason")
    await disclosure.withhold(db, appeal, actor=commands.actor_of(staff), reason=text, withheld=withheld)
    return {"ticket_no": appeal.ticket_no, "withheld": appeal.withheld}


@router.post(
    "/appeals/{appeal_id}/withhold",
    responses=problem_responses(NotFound, Forbidden, WrongRole, InvalidInput),
    summary="Withhold an appeal from public disclosure, with a reason",
)
async def withhold(body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor) -> dict[str, object]:
    return await _withhold(appeal, db, staff, body.reason, True)


@router.post(
    "/appeals/{appeal_id}/publish",
    responses=problem_responses(NotFound, Forbidden, WrongRole, InvalidInput),
    summary="Return a withheld appeal to public disclosure",
)
async def publish(body: Reason, appeal: LockedAppeal, db: Db, staff: StaffActor) -> dict[str, object]:
    return await _withhold(appeal, db, staff, body.reason, False)
