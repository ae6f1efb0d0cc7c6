"""Ledger routes of the gateway: staff money commands and reads (`/api/v1/ledger/...`) and the
public funds disclosure (`/api/v1/public/funds`). Thin forwarding to the ledger's internal API.

Who may do what (`services.gateway.ledger_scope`; the ledger itself checks the money rules):
- `city_admin`: everything, including city-level money, matching ratios and reversals;
- `town_staff`: its own town's accounts: income and matching to it, allocations to its villages,
  reservations, disbursements and pledges of the town; reads of the town and its villages;
- `village_staff`: its own village's accounts, the same way;
- `auditor`: every read, no command.
A command passes its `Idempotency-Key` through: a replay answers as the first request did.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from services.common.auth import Principal, Role, StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyRequired,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response
from services.gateway.ledger_scope import holder_in, may_read, require_act, require_read
from services.gateway.ratelimit import TooManyRequests, limit_public
from services.gateway.routes.public import etag_matches

staff = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
public = APIRouter(prefix="/api/v1/public/funds", tags=["public"], dependencies=[Depends(limit_public)])
router = APIRouter()

INTERNAL = "/internal/ledger"
READERS: tuple[Role, ...] = ("city_admin", "town_staff", "village_staff", "auditor")
JsonBody = Annotated[dict[str, Any], Body()]
IdempotencyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]
# The ledger's own refusals (409 insufficient funds, a reused key, a resolved reservation …) pass through.
COMMAND = problem_responses(Unauthorized, Forbidden, NotFound, Conflict, InvalidInput, IdempotencyKeyRequired)
READ = problem_responses(Unauthorized, Forbidden, InvalidInput, NotFound)


def _key(value: str | None) -> dict[str, str]:
    if not value:
        raise IdempotencyKeyRequired()
    return {"Idempotency-Key": value}


async def _command(path: str, principal: Principal, body: dict[str, Any], key: str | None) -> Response:
    return relay_response(
        await call("ledger", "POST", f"{INTERNAL}{path}", json=body, actor=principal, headers=_key(key))
    )


async def _read(path: str, principal: Principal, params: dict[str, Any] | None = None) -> Response:
    return relay_response(await call("ledger", "GET", f"{INTERNAL}{path}", params=params, actor=principal))


async def _fetch(path: str, principal: Principal) -> dict[str, Any] | Response:
    """A ledger record to check scope against, or the ledger's refusal to relay."""
    upstream = await call("ledger", "GET", f"{INTERNAL}{path}", actor=principal)
    if upstream.status_code != 200:
        return relay_response(upstream)
    found: dict[str, Any] = upstream.json()
    return found


# -- money in and down ---------------------------------------------------------------------------


@staff.post("/income", status_code=201, responses=COMMAND, summary="Record income (收入)")
async def ledger_income(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_act(principal, holder_in(body, "holder"))
    return await _command("/income", principal, body, idempotency_key)


@staff.post("/allocations", status_code=201, responses=COMMAND, summary="Allocate one level down (下拨)")
async def ledger_allocation(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_act(principal, holder_in(body, "from_holder"))
    return await _command("/allocations", principal, body, idempotency_key)


@staff.post("/matching", status_code=201, responses=COMMAND, summary="Record a town's matching (配套)")
async def ledger_matching(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    town = body.get("town_code")
    require_act(principal, ("town", town if isinstance(town, str) else ""))
    return await _command("/matching", principal, body, idempotency_key)


@staff.get("/towns/{town_code}/matching", responses=READ, summary="A town's matching: required and received")
async def ledger_matching_status(town_code: str, principal: StaffPrincipal) -> Response:
    require_read(principal, ("town", town_code))
    return await _read(f"/towns/{town_code}/matching", principal)


@staff.put("/towns/{town_code}/matching", responses=READ, summary="Set a town's matching ratio (city)")
async def ledger_matching_ratio(town_code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin")
    return relay_response(
        await call("ledger", "PUT", f"{INTERNAL}/towns/{town_code}/matching", json=body, actor=principal)
    )


# -- reservations and disbursements -------------------------------------------------------------


@staff.post(
    "/reservations", status_code=201, responses=COMMAND, summary="Reserve for an approved plan (预留)"
)
async def ledger_reserve(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_act(principal, holder_in(body, "holder"))
    return await _command("/reservations", principal, body, idempotency_key)


@staff.get("/reservations/{reservation_id}", responses=READ, summary="One reservation")
async def ledger_reservation(reservation_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    found = await _fetch(f"/reservations/{reservation_id}", principal)
    if isinstance(found, Response):
        return found
    require_read(principal, (found["holder_type"], found["holder_code"]))
    return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")


async def _reservation_command(
    reservation_id: uuid.UUID, action: str, principal: Principal, body: dict[str, Any], key: str | None
) -> Response:
    _key(key)
    found = await _fetch(f"/reservations/{reservation_id}", principal)
    if isinstance(found, Response):
        return found
    require_act(principal, (found["holder_type"], found["holder_code"]))
    return await _command(f"/reservations/{reservation_id}/{action}", principal, body, key)


@staff.post(
    "/reservations/{reservation_id}/disbursements",
    status_code=201,
    responses=COMMAND,
    summary="Post part of a reservation (拨付)",
)
async def ledger_reserved_disbursement(
    reservation_id: uuid.UUID,
    principal: StaffPrincipal,
    body: JsonBody,
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    return await _reservation_command(reservation_id, "disbursements", principal, body, idempotency_key)


@staff.post(
    "/reservations/{reservation_id}/release",
    status_code=201,
    responses=COMMAND,
    summary="Release the rest (释放)",
)
async def ledger_release(
    reservation_id: uuid.UUID,
    principal: StaffPrincipal,
    body: JsonBody,
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    return await _reservation_command(reservation_id, "release", principal, body, idempotency_key)


@staff.post(
    "/disbursements", status_code=201, responses=COMMAND, summary="Pay a project or beneficiary (拨付)"
)
async def ledger_disburse(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_act(principal, holder_in(body, "holder"))
    return await _command("/disbursements", principal, body, idempotency_key)


# -- donors ----------------------------------------------------------------------------------------


@staff.post("/pledges", status_code=201, responses=COMMAND, summary="Record a donor's pledge (认捐)")
async def ledger_pledge(
    principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_act(principal, holder_in(body, "recipient", default=("city", "441900000000")))
    return await _command("/pledges", principal, body, idempotency_key)


@staff.get("/pledges/{pledge_id}", responses=READ, summary="One pledge")
async def ledger_pledge_status(pledge_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    found = await _fetch(f"/pledges/{pledge_id}", principal)
    if isinstance(found, Response):
        return found
    require_read(principal, holder_in(found, "recipient"))
    return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")


@staff.post(
    "/pledges/{pledge_id}/receipts", status_code=201, responses=COMMAND, summary="Record a receipt (到账)"
)
async def ledger_receipt(
    pledge_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    _key(idempotency_key)
    found = await _fetch(f"/pledges/{pledge_id}", principal)
    if isinstance(found, Response):
        return found
    require_act(principal, holder_in(found, "recipient"))
    return await _command(f"/pledges/{pledge_id}/receipts", principal, body, idempotency_key)


# -- corrections, reads, reports, audits ---------------------------------------------------------------


@staff.post(
    "/entries/{entry_id}/reversal", status_code=201, responses=COMMAND, summary="Reverse an entry (冲正)"
)
async def ledger_reverse(
    entry_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody, idempotency_key: IdempotencyHeader = None
) -> Response:
    require_role(principal, "city_admin")
    return await _command(f"/entries/{entry_id}/reversal", principal, body, idempotency_key)


@staff.get("/entries/{entry_id}", responses=READ, summary="One journal entry")
async def ledger_entry(entry_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    found = await _fetch(f"/entries/{entry_id}", principal)
    if isinstance(found, Response):
        return found
    kind, code = found.get("holder_type"), found.get("holder_code")
    if not (isinstance(kind, str) and isinstance(code, str) and may_read(principal, (kind, code))):
        require_role(principal, "city_admin", "auditor")
    return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")


@staff.get("/balances", responses=READ, summary="A holder's balances, now or as of a moment")
async def ledger_balances(
    principal: StaffPrincipal, holder_type: str, holder_code: str, as_of: str | None = None
) -> Response:
    require_role(principal, *READERS)
    require_read(principal, (holder_type, holder_code))
    params = {"holder_type": holder_type, "holder_code": holder_code}
    if as_of is not None:
        params["as_of"] = as_of
    return await _read("/balances", principal, params)


@staff.get("/statement", responses=READ, summary="An account's statement")
async def ledger_statement(
    principal: StaffPrincipal,
    holder_type: str,
    holder_code: str,
    source_code: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: int | None = None,
) -> Response:
    require_read(principal, (holder_type, holder_code))
    params: dict[str, Any] = {
        "holder_type": holder_type,
        "holder_code": holder_code,
        "source_code": source_code,
        "limit": limit,
    }
    if before is not None:
        params["before"] = before
    return await _read("/statement", principal, params)


@staff.get("/reports/sources", responses=READ, summary="Per fund source")
async def ledger_sources_report(principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read("/reports/sources", principal)


@staff.get("/reports/towns/{town_code}", responses=READ, summary="A town's funds")
async def ledger_town_report(town_code: str, principal: StaffPrincipal) -> Response:
    require_read(principal, ("town", town_code))
    return await _read(f"/reports/towns/{town_code}", principal)


@staff.get("/reports/villages/{village_code}", responses=READ, summary="A village's funds")
async def ledger_village_report(village_code: str, principal: StaffPrincipal) -> Response:
    require_read(principal, ("village", village_code))
    return await _read(f"/reports/villages/{village_code}", principal)


@staff.get("/reports/payees/{payee_type}/{payee_code}", responses=READ, summary="What a payee received")
async def ledger_payee_report(payee_type: str, payee_code: str, principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read(f"/reports/payees/{payee_type}/{payee_code}", principal)


@staff.get("/donors/{donor_code}/report", responses=READ, summary="A donor's pledges and receipts")
async def ledger_donor_report(donor_code: str, principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read(f"/donors/{donor_code}/report", principal)


@staff.get("/receipts/{entry_id}", responses=READ, summary="A donation receipt (捐赠收据)")
async def ledger_receipt_document(entry_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read(f"/receipts/{entry_id}", principal)


@staff.get("/audit/verify", responses=READ, summary="Verify the journal's hash chain")
async def ledger_verify(principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read("/audit/verify", principal)


@staff.get("/audit/reconcile", responses=READ, summary="Rebuild balances from the journal and compare")
async def ledger_reconcile(principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return await _read("/audit/reconcile", principal)


# -- public ------------------------------------------------------------------------------------------


@public.get(
    "",
    summary="资金公开: the programme's funds, aggregated and anonymised",
    responses={
        304: {"description": "Not modified"},
        **problem_responses(TooManyRequests, ServiceUnavailable),
    },
)
async def public_funds(request: Request) -> Response:
    """Per source (received, held, reserved, disbursed) and per town; no personal data. `ETag`
    changes only when the figures do, and `If-None-Match` answers `304`."""
    upstream = await call("ledger", "GET", f"{INTERNAL}/public/funds")
    if upstream.status_code != 200:
        return relay_response(upstream)
    figures = {k: v for k, v in upstream.json().items() if k != "generated_at"}
    digest = hashlib.sha256(json.dumps(figures, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    etag = f'"{digest[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=30"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(upstream.content, media_type="application/json", headers=headers)


router.include_router(staff)
router.include_router(public)

__all__ = ["router"]
