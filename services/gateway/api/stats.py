"""Statistics for dashboards (DESIGN §8): KPIs, exports, demand analysis. ETag / 304 on JSON.

Staff see their own scope (intake checks it). `GET /api/v1/stats/public` is the city and town
summary for public screens, without a token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from services.common.auth import StaffPrincipal
from services.common.errors import (
    Forbidden,
    InvalidInput,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.contracts.stats import By, DemandReport, KpiReport, Level, Period
from services.gateway.api.disclosure import cached
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ratelimit import limit_public

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
ERRORS = {304: {"description": "Not modified"}, **problem_responses(Unauthorized, Forbidden, InvalidInput)}


def _params(**values: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if v is not None}


async def _json(path: str, params: dict[str, Any], principal: Any, if_none_match: str | None) -> Response:
    upstream = await call("intake", "GET", path, params=params, actor=principal)
    if upstream.status_code in (401, 403, 422):
        return relay_response(upstream)
    return cached(upstream, if_none_match)


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses=ERRORS,
    summary="Counts and KPIs for a scope and period, by a dimension",
)
async def kpis(
    principal: StaffPrincipal,
    level: Level = "city",
    code: Annotated[str, Query(max_length=48)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    params = _params(level=level, code=code, period=period, start=start, by=by)
    return await _json("/internal/stats/kpis", params, principal, if_none_match)


@router.get(
    "/kpis/export",
    responses={
        200: {
            "description": "The table as a file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **problem_responses(Unauthorized, Forbidden, InvalidInput),
    },
    response_class=Response,
    summary="The same table as CSV or XLSX",
)
async def kpis_export(
    principal: StaffPrincipal,
    level: Level = "city",
    code: Annotated[str, Query(max_length=48)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    params = _params(level=level, code=code, period=period, start=start, by=by, format=format)
    upstream = await call("intake", "GET", "/internal/stats/kpis/export", params=params, actor=principal)
    response = relay_response(upstream)
    if "content-disposition" in upstream.headers:
        response.headers["Content-Disposition"] = upstream.headers["content-disposition"]
    return response


@router.get(
    "/demand",
    response_model=DemandReport,
    responses=ERRORS,
    summary="需求分析: hot spots, rising needs, repeat places",
)
async def demand(
    principal: StaffPrincipal,
    period: Literal["month", "year"] = "month",
    start: date | None = None,
    town: Annotated[str | None, Query(max_length=12)] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    params = _params(period=period, start=start, town=town)
    return await _json("/internal/stats/demand", params, principal, if_none_match)


@router.get(
    "/public",
    response_model=KpiReport,
    responses={**ERRORS, **problem_responses(TooManyRequests, ServiceUnavailable)},
    dependencies=[Depends(limit_public)],
    summary="City or town KPIs for public screens (no token)",
)
async def public_summary(
    level: Literal["city", "town"] = "city",
    code: Annotated[str, Query(max_length=12)] = "city",
    period: Period = "month",
    start: date | None = None,
    by: By = "all",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    params = _params(level=level, code=code, period=period, start=start, by=by)
    return await _json("/internal/stats/public", params, None, if_none_match)
