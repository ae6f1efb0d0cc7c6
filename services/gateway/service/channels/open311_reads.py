"""Open311 GeoReport v2, reading requests (`requests.json`, `requests/{id}`): the gateway's own
rows of requests filed through Open311 (their status refreshed from intake's public status at most
every `STATUS_TTL`), and every appeal public disclosure shows, whichever channel it came by
(public-safe text only). Errors are `Open311Error`, which the routes render as GeoReport's list."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import func, select, update

from services.common.db import session_scope
from services.common.errors import DomainError
from services.common.messaging import utcnow
from services.contracts.appeals import PublicAppeal
from services.contracts.disclosure import DisclosedAppeal, DisclosurePage
from services.gateway.models import Open311Request
from services.gateway.service.channels.open311 import (
    MAX_REQUESTS,
    SERVICES_BY_CODE,
    Open311Error,
    RequestView,
    disclosed_view,
    expected_at,
    request_doc,
)
from services.gateway.service.client import call

log = structlog.get_logger(__name__)

FINAL: Final = frozenset({"closed", "rejected", "merged", "withdrawn"})
STATUS_TTL: Final = timedelta(seconds=30)
MAX_SPAN: Final = timedelta(days=90)
MAX_PARAM: Final = 2000


async def _fetch_status(row: Open311Request) -> dict[str, Any] | None:
    try:
        response = await call(
            "intake",
            "GET",
            f"/internal/public/appeals/{row.service_request_id}",
            params={"code": row.query_code},
        )
    except DomainError:
        return None
    if response.status_code != 200:
        return None
    try:
        appeal = PublicAppeal.model_validate_json(response.content)
    except ValueError:
        log.warning("open311_status_unreadable", request_id=row.service_request_id)
        return None
    last = appeal.timeline[-1] if appeal.timeline else None
    return {
        "status": appeal.status,
        "status_notes": last.description[:300] if last else None,
        "category": appeal.category,
        "expected_at": expected_at(appeal),
        "updated_at": last.at if last else appeal.received_at,
    }


async def refresh(rows: list[Open311Request]) -> None:
    """Bring cached statuses up to date (at most every STATUS_TTL; final ones never again)."""
    now = utcnow()
    stale = [
        r for r in rows if r.status not in FINAL and (r.checked_at is None or r.checked_at < now - STATUS_TTL)
    ]
    if not stale:
        return
    gate = asyncio.Semaphore(8)

    async def one(row: Open311Request) -> tuple[Open311Request, dict[str, Any] | None]:
        async with gate:
            return row, await _fetch_status(row)

    results = await asyncio.gather(*(one(r) for r in stale))
    async with session_scope() as session:
        for row, fresh in results:
            if fresh is None:
                continue
            for key, value in fresh.items():
                setattr(row, key, value)
            row.checked_at = now
            await session.execute(
                update(Open311Request)
                .where(Open311Request.service_request_id == row.service_request_id)
                .values(**fresh, checked_at=now)
            )


def view(row: Open311Request) -> dict[str, Any]:
    """A request filed through Open311, as GeoReport shows it."""
    return request_doc(
        RequestView(
            service_request_id=row.service_request_id,
            service_code=row.service_code,
            status=row.status,
            status_notes=row.status_notes,
            category=row.category,
            requested_at=row.requested_at,
            updated_at=row.updated_at,
            expected_at=row.expected_at,
            address=row.address,
            lat=row.lat,
            lng=row.lng,
            description=row.description,
            media_url=row.media_url,
        )
    )


def _when(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone offset")
    return value


def _positive(raw: str | None, name: str, default: int, maximum: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise Open311Error(400, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


DISCLOSURE_PAGE: Final = 100
TICKET_RE: Final = re.compile(r"^MS\d{8,20}$")


async def _disclosed(
    start: datetime, end: datetime, category: str | None, need: int, skip: set[str]
) -> list[dict[str, Any]]:
    """Up to `need` publicly disclosed appeals of the window, newest first, from any channel."""
    docs: list[dict[str, Any]] = []
    if category and category not in SERVICES_BY_CODE:
        return docs  # not one of our services: nothing of any channel has it
    page = 1
    while len(docs) < need:
        params: dict[str, Any] = {
            "received_from": start.isoformat(),
            "received_to": end.isoformat(),
            "page": page,
            "page_size": DISCLOSURE_PAGE,
        }
        if category:
            params["category"] = category
        upstream = await call("intake", "GET", "/internal/public/disclosure", params=params)
        if upstream.status_code in (400, 422):
            raise Open311Error(400, "the filters could not be applied")
        if upstream.status_code != 200:
            raise Open311Error(503, "the public requests could not be read")
        found = DisclosurePage.model_validate_json(upstream.content)
        for item in found.items:
            view = disclosed_view(item) if item.ticket_no not in skip else None
            if view is not None:
                docs.append(request_doc(view))
        if page * DISCLOSURE_PAGE >= found.total or not found.items:
            break
        page += 1
    return docs[:need]


async def disclosed_one(ticket_no: str) -> dict[str, Any] | None:
    """One disclosed appeal as a GeoReport request, or None when it is not public."""
    upstream = await call("intake", "GET", f"/internal/public/disclosure/{ticket_no}")
    if upstream.status_code == 404:
        return None
    if upstream.status_code != 200:
        raise Open311Error(503, "the public request could not be read")
    view = disclosed_view(DisclosedAppeal.model_validate_json(upstream.content))
    return request_doc(view) if view is not None else None


def _newest_first(doc: dict[str, Any]) -> str:
    return str(doc.get("requested_datetime") or "")


async def list_requests(params: dict[str, str | None]) -> list[dict[str, Any]]:
    """`requests.json`: the requests the query names (ids, or a window of at most 90 days, a
    service code, statuses), newest first, paged; GeoReport's own parameters, as raw strings."""
    for name, value in params.items():
        if value is not None and len(value) > MAX_PARAM:
            raise Open311Error(400, f"{name} is longer than {MAX_PARAM} characters")
    stmt = select(Open311Request)
    ids = [i.strip() for i in (params["service_request_id"] or "").split(",") if i.strip()][:MAX_REQUESTS]
    start = end = None
    if ids:
        stmt = stmt.where(Open311Request.service_request_id.in_(ids))
    else:
        end = _when(params["end_date"], "end_date") or utcnow()
        start = _when(params["start_date"], "start_date") or end - MAX_SPAN
        if start > end or end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date must span at most 90 days")
        stmt = stmt.where(Open311Request.requested_at >= start, Open311Request.requested_at <= end)
        if code := params["service_code"]:
            stmt = stmt.where(func.coalesce(Open311Request.category, Open311Request.service_code) == code)
    statuses = {s.strip() for s in (params["status"] or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open and/or closed")
    page = _positive(params["page"], "page", 1, 10_000)
    size = _positive(params["page_size"], "page_size", MAX_REQUESTS, MAX_REQUESTS)
    async with session_scope() as session:
        rows = list(
            (
                await session.scalars(stmt.order_by(Open311Request.requested_at.desc()).limit(MAX_REQUESTS))
            ).all()
        )
    await refresh(rows)
    docs = [view(r) for r in rows]
    own = {r.service_request_id for r in rows}
    if ids:
        # Requests of other channels by their ticket number, when public disclosure shows them.
        for ticket_no in ids:
            if ticket_no not in own and TICKET_RE.match(ticket_no):
                found = await disclosed_one(ticket_no)
                if found is not None:
                    docs.append(found)
    elif start is not None and end is not None:
        docs += await _disclosed(start, end, params["service_code"], MAX_REQUESTS, own)
        docs.sort(key=_newest_first, reverse=True)
        docs = docs[:MAX_REQUESTS]
    if statuses and not ids:
        docs = [d for d in docs if d["status"] in statuses]
    return docs[(page - 1) * size : page * size]
