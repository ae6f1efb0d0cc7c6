"""Statistics (DESIGN §8) from the pre-aggregated counters, exports and demand analysis.

GET /internal/stats/kpis?level=&code=&period=day|month|year&start=YYYY-MM-DD&by=all|kind|category|channel
GET /internal/stats/kpis/export?...&format=csv|xlsx
GET /internal/stats/demand?period=month&start=&town=
Staff see their own scope: a town its town and villages, a village itself, a department or station
its unit; city admins and auditors everything. `GET /internal/stats/public` is the city and town
summary for public screens (no staff actor needed).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from intake.api.deps import StaffActor
from intake.schemas import By, DemandReport, KpiReport, Level, Period
from intake.service.stats import export
from intake.service.stats.demand import demand
from intake.service.stats.queries import Question, counters, report_rows
from services.common import scope
from services.common.auth import InternalCaller, Principal
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, InvalidInput, problem_responses
from services.common.timeutil import local_today

router = APIRouter(prefix="/internal/stats", tags=["intake: statistics"])


def _in_scope(staff: Principal, level: Level, code: str) -> bool:
    # Counters are kept per town, village and holding unit (`type:code`): the city sees them all,
    # a town its own and its villages', any other unit only its own row.
    if scope.sees_everything(staff):
        return True
    if staff.role == "town_staff":
        return (level == "town" and code == staff.org_code) or (
            level == "village" and scope.village_in_town(code, staff.org_code)
        )
    if staff.role == "village_staff":
        return level == "village" and code == staff.org_code
    if staff.role in ("department_staff", "station_staff"):
        return level == "unit" and code == scope.Unit(staff.org_type, staff.org_code).label()
    return False


async def _report(db: Db, q: Question) -> KpiReport:
    q = q.checked()
    return KpiReport(
        level=q.level,
        code=q.code,
        period=q.period,
        start=q.start,
        by=q.by,
        rows=report_rows(await counters(db, q)),
    )


@router.get("/kpis", response_model=KpiReport, responses=problem_responses(Forbidden, InvalidInput))
async def kpis(
    db: Db,
    staff: StaffActor,
    level: Level = "city",
    code: Annotated[str, Query(max_length=48)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
) -> KpiReport:
    if not _in_scope(staff, level, code):
        raise Forbidden("您只能查看本单位范围内的统计。")
    return await _report(db, Question(level, code, period, start or local_today(), by))


@router.get(
    "/kpis/export",
    responses={
        200: {"content": {"text/csv": {}, export.XLSX: {}}},
        **problem_responses(Forbidden, InvalidInput),
    },
)
async def kpis_export(
    db: Db,
    staff: StaffActor,
    level: Level = "city",
    code: Annotated[str, Query(max_length=48)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    if not _in_scope(staff, level, code):
        raise Forbidden("您只能查看本单位范围内的统计。")
    report = await _report(db, Question(level, code, period, start or local_today(), by))
    name = f"kpi-{report.level}-{report.code}-{report.period}-{report.start.isoformat()}-{report.by}"
    if format == "xlsx":
        body, media = export.to_xlsx(report.rows), export.XLSX
    else:
        body, media = export.to_csv(report.rows), "text/csv; charset=utf-8"
    return Response(content=body, media_type=media, headers={"Content-Disposition": attachment(name, format)})


def attachment(name: str, extension: str) -> str:
    """A Content-Disposition for a download named after the caller's own query. Headers are
    Latin-1 and must not carry quotes or line breaks, but `code` is free text: an ASCII name
    for every client, and the exact one (RFC 6266 `filename*`) for those that read it."""
    plain = re.sub(r"[^0-9A-Za-z._-]", "_", name)
    return f"attachment; filename=\"{plain}.{extension}\"; filename*=UTF-8''{quote(name)}.{extension}"


@router.get("/demand", response_model=DemandReport, responses=problem_responses(Forbidden, InvalidInput))
async def demand_report(
    db: Db,
    staff: StaffActor,
    period: Literal["month", "year"] = "month",
    start: date | None = None,
    town: Annotated[str | None, Query(max_length=12)] = None,
) -> DemandReport:
    if staff.role == "town_staff":
        town = staff.org_code
    elif staff.role not in ("city_admin", "auditor"):
        raise Forbidden("需求分析面向市、镇街两级。")
    return await demand(db, period, start or local_today(), town)


@router.get("/public", response_model=KpiReport, responses=problem_responses(InvalidInput))
async def public_summary(
    db: Db,
    caller: InternalCaller,
    level: Literal["city", "town"] = "city",
    code: Annotated[str, Query(max_length=12)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
) -> KpiReport:
    return await _report(db, Question(level, code, period, start or local_today(), by))
