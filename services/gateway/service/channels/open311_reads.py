"""Open311 GeoReport v2, reading requests (`requests.json`, `requests/{id}`): every appeal public
disclosure shows, whichever channel it came by (public-safe text only), those filed through Open311
shown from the gateway's own rows (their status refreshed from intake's public status at most every
`STATUS_TTL`). Disclosure is intake's to decide: a request not yet disclosed (not triaged, withheld,
withdrawn) is shown only to the Open311 client that filed it. Errors are `Open311Error`, which the
routes render as GeoReport's list."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import select, update

from services.common.db import session_scope
from services.common.errors import DomainError
from services.common.messaging import utcnow
from services.contracts.appeals import PublicAppeal
from services.contracts.disclosure import DisclosedAppeal, DisclosurePage
from services.contracts.vocabulary import STATUSES
from services.gateway.models import Open311Request
from services.gateway.service.channels.open311 import (
    CLOSED_STATES,
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
# GeoReport's "open" and "closed", each as the statuses of ours they stand for.
OPEN311_STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "open": tuple(s for s in STATUSES if s not in CLOSED_STATES),
    "closed": tuple(s for s in STATUSES if s in CLOSED_STATES),
}


async def _disclosure_page(params: dict[str, Any], page: int) -> DisclosurePage:
    upstream = await call(
        "intake",
        "GET",
        "/internal/public/disclosure",
        params={**params, "page": page, "page_size": DISCLOSURE_PAGE},
    )
    if upstream.status_code in (400, 422):
        raise Open311Error(400, "the filters could not be applied")
    if upstream.status_code != 200:
        raise Open311Error(503, "the public requests could not be read")
    return DisclosurePage.model_validate_json(upstream.content)


async def _disclosed_slice(params: dict[str, Any], offset: int, size: int) -> list[DisclosedAppeal]:
    """`size` disclosed appeals from `offset` on, newest first: intake pages in SQL, so every
    disclosed appeal is reachable, however many there are."""
    first = offset // DISCLOSURE_PAGE + 1
    last = (offset + size - 1) // DISCLOSURE_PAGE + 1
    items: list[DisclosedAppeal] = []
    for page in range(first, last + 1):
        found = await _disclosure_page(params, page)
        items += found.items
        if page * DISCLOSURE_PAGE >= found.total or not found.items:
            break
    skip = offset - (first - 1) * DISCLOSURE_PAGE
    return items[skip : skip + size]


async def _disclosure_of(ticket_no: str) -> DisclosedAppeal | None:
    """The appeal as public disclosure shows it, or None when it is not disclosed (not yet
    triaged, withheld, withdrawn, merged away) or not known."""
    if not TICKET_RE.match(ticket_no):
        return None
    upstream = await call("intake", "GET", f"/internal/public/disclosure/{ticket_no}")
    if upstream.status_code == 404:
        return None
    if upstream.status_code != 200:
        raise Open311Error(503, "the public request could not be read")
    return DisclosedAppeal.model_validate_json(upstream.content)


async def _own_rows(tickets: list[str]) -> dict[str, Open311Request]:
    if not tickets:
        return {}
    async with session_scope() as session:
        rows = list(
            (
                await session.scalars(
                    select(Open311Request).where(Open311Request.service_request_id.in_(tickets))
                )
            ).all()
        )
    await refresh(rows)
    return {r.service_request_id: r for r in rows}


async def one_request(request_id: str, filer: uuid.UUID | None) -> dict[str, Any] | None:
    """One request as GeoReport shows it to this reader, or None when the reader may not see it.

    A request filed through Open311 is shown from the gateway's own row (its coordinates and
    photo) to the client that filed it (`filer`, the id of the `api_key` presented) at any time,
    and to everyone else once public disclosure shows it; any other appeal only when disclosed."""
    own = (await _own_rows([request_id])).get(request_id)
    if own is not None and filer is not None and own.api_key_id == filer:
        return view(own)
    disclosed = await _disclosure_of(request_id)
    if disclosed is None:
        return None
    if own is not None:
        return view(own)
    found = disclosed_view(disclosed)
    return request_doc(found) if found is not None else None


async def list_requests(
    params: dict[str, str | None], filer: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """`requests.json`: the requests the query names (ids, or a window of at most 90 days, a
    service code, statuses), newest first, paged; GeoReport's own parameters, as raw strings.

    A window lists what public disclosure shows (paged by intake in SQL, so every public request
    is reachable), requests filed through Open311 shown from the gateway's own rows. A request not
    yet disclosed is shown only to the client that filed it (`filer`), when it names it by id."""
    for name, value in params.items():
        if value is not None and len(value) > MAX_PARAM:
            raise Open311Error(400, f"{name} is longer than {MAX_PARAM} characters")
    ids = list(dict.fromkeys(i.strip() for i in (params["service_request_id"] or "").split(",") if i.strip()))
    statuses = {s.strip() for s in (params["status"] or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open and/or closed")
    page = _positive(params["page"], "page", 1, 10_000)
    size = _positive(params["page_size"], "page_size", MAX_REQUESTS, MAX_REQUESTS)
    if ids:
        named = [doc for i in ids[:MAX_REQUESTS] if (doc := await one_request(i, filer)) is not None]
        return named[(page - 1) * size : page * size]
    end = _when(params["end_date"], "end_date") or utcnow()
    start = _when(params["start_date"], "start_date") or end - MAX_SPAN
    if start > end or end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date must span at most 90 days")
    code = params["service_code"]
    if code and code not in SERVICES_BY_CODE:
        return []  # not one of our services: nothing of any channel has it
    query: dict[str, Any] = {"received_from": start.isoformat(), "received_to": end.isoformat()}
    if code:
        query["category"] = code
    if len(statuses) == 1:
        query["statuses"] = ",".join(OPEN311_STATUSES[statuses.pop()])
    items = await _disclosed_slice(query, (page - 1) * size, size)
    own = await _own_rows([item.ticket_no for item in items])
    docs: list[dict[str, Any]] = []
    for item in items:
        if (row := own.get(item.ticket_no)) is not None:
            docs.append(view(row))
        elif (found := disclosed_view(item)) is not None:
            docs.append(request_doc(found))
    return docs
