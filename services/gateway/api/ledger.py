"""Ledger routes of the gateway: staff money commands and reads (`/api/v1/ledger/...`), rows of the
gateway's table, and the public funds disclosure (`/api/v1/public/funds`).

Who may do what (`services.gateway.service.ledger_scope`; the ledger itself checks the money rules):
- `city_admin`: everything, including city-level money, matching ratios and reversals;
- `town_staff`: its own town's accounts: income and matching to it, allocations to its villages,
  reservations, disbursements and pledges of the town; reads of the town and its villages;
- `village_staff`: its own village's accounts, the same way;
- `auditor`: every read, no command (`403 read_only` at the door).
A command passes its `Idempotency-Key` through: a replay answers as the first request did.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from services.common.auth import Principal, Role
from services.common.errors import AppealEnded, Conflict, NotFound, ServiceUnavailable, problem_responses
from services.common.etag import etag_matches
from services.contracts.ledger import (
    AllocationCommand,
    BalancesQuery,
    DisbursementCommand,
    EntryOut,
    FundHolder,
    HolderBalances,
    IncomeCommand,
    MatchingCommand,
    MatchingOut,
    MatchingRatioCommand,
    MatchingStatus,
    PledgeCommand,
    PledgeOut,
    ReceiptCommand,
    ReceiptOut,
    ReleaseCommand,
    ReservationCommand,
    ReservationOut,
    ReservedDisbursementCommand,
    ReversalCommand,
    Statement,
    StatementQuery,
)
from services.contracts.ledger_reports import (
    ChainReport,
    DonorReport,
    HolderReport,
    PayeeReport,
    PublicFunds,
    ReceiptDocument,
    ReconcileReport,
    SourcesReport,
)
from services.gateway.api.table import Call, Forward, mount
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ledger_scope import Holder, may_read, require_act, require_read
from services.gateway.service.ratelimit import limit_public

staff = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
public = APIRouter(prefix="/api/v1/public/funds", tags=["public"], dependencies=[Depends(limit_public)])
router = APIRouter()

L = "/api/v1/ledger"
INTERNAL = "/internal/ledger"
MONEY: tuple[Role, ...] = ("city_admin", "town_staff", "village_staff")
DECIDERS: tuple[Role, ...] = ("city_admin", "town_staff")
READERS: tuple[Role, ...] = (*MONEY, "auditor")
CITY_READ: tuple[Role, ...] = ("city_admin", "auditor")
# The ledger's own refusals (409 insufficient funds, a reused key, a resolved reservation …) pass through.
REFUSALS = (NotFound, Conflict)


def _holder(holder: FundHolder) -> Holder:
    return holder.holder_type, holder.holder_code


def acts_on(pick: Callable[[Any], Holder]) -> Callable[[Call], Any]:
    """A guard: the principal moves money of the holder the body names."""

    async def guard(request: Call) -> Response | None:
        assert request.principal is not None
        require_act(request.principal, pick(request.body))
        return None

    return guard


ENDED_WITHOUT_WORK = frozenset({"merged", "withdrawn", "rejected"})


def _appeals_named(body: Any) -> set[str]:
    """The appeals a money command is for: its `appeal_id`, and a project or beneficiary payee
    (named by the appeal's id)."""
    named = {str(body.appeal_id)} if getattr(body, "appeal_id", None) else set()
    payee = getattr(body, "payee", None)
    if payee is not None and payee.payee_type in ("project", "beneficiary"):
        with contextlib.suppress(ValueError):  # an opaque reference, not an appeal
            named.add(str(uuid.UUID(payee.payee_code)))
    return named


def acts_on_open_appeal(pick: Callable[[Any], Holder]) -> Callable[[Call], Any]:
    """`acts_on`, and no money moves for an appeal merged into another (or withdrawn, rejected):
    `409 appeal_ended` (issue 15.8). An appeal intake does not show this member of staff is left
    to the ledger's own rules."""
    holder_guard = acts_on(pick)

    async def guard(request: Call) -> Response | None:
        await holder_guard(request)
        for appeal_id in _appeals_named(request.body):
            upstream = await call("intake", "GET", f"/internal/appeals/{appeal_id}", actor=request.principal)
            if upstream.status_code == 200 and upstream.json().get("status") in ENDED_WITHOUT_WORK:
                raise AppealEnded(appeal_id=appeal_id, status=upstream.json()["status"])
        return None

    return guard


def reads(pick: Callable[[Call], Holder]) -> Callable[[Call], Any]:
    """A guard: the principal sees money of the holder the path or query names."""

    async def guard(request: Call) -> Response | None:
        assert request.principal is not None
        require_read(request.principal, pick(request))
        return None

    return guard


async def _fetch(path: str, principal: Principal | None) -> dict[str, Any] | Response:
    """A ledger record to check scope against, or the ledger's refusal to relay."""
    upstream = await call("ledger", "GET", f"{INTERNAL}{path}", actor=principal)
    if upstream.status_code != 200:
        return relay_response(upstream)
    found: dict[str, Any] = upstream.json()
    return found


def _recipient(record: dict[str, Any]) -> Holder:
    value = record.get("recipient") or {}
    return str(value.get("holder_type")), str(value.get("holder_code"))


# What the ledger answers for an id it never issued, per record kind: answered as well for a record
# outside the caller's scope, so that the two cannot be told apart (issue 15).
_UNKNOWN: dict[str, tuple[str, str]] = {
    "reservation_id": ("reservation_not_found", "没有找到该资金预留记录。"),
    "pledge_id": ("pledge_not_found", "没有找到该认捐记录。"),
}


def _as_unknown(path: str, values: dict[str, Any]) -> NotFound:
    name = path[path.index("{") + 1 : path.index("}")]
    code, message = _UNKNOWN[name]
    missing = NotFound(message, **{name: str(values[name])})
    missing.code = code
    return missing


def on_record(path: str, holder: Callable[[dict[str, Any]], Holder], *, act: bool) -> Callable[[Call], Any]:
    """A guard on a record the path names: fetched, then its holder checked (`404` to whom may not
    even read it, as for an unknown id). A read answers with the record fetched (no second call); a
    command goes on to the ledger."""

    async def guard(request: Call) -> Response | None:
        assert request.principal is not None
        found = await _fetch(path.format(**request.path), request.principal)
        if isinstance(found, Response):
            return found
        if not may_read(request.principal, holder(found)):
            raise _as_unknown(path, request.path)  # outside one's scope: as an unknown id
        if act:
            require_act(request.principal, holder(found))
            return None
        require_read(request.principal, holder(found))
        return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")

    return guard


async def _entry_guard(request: Call) -> Response | None:
    assert request.principal is not None
    found = await _fetch(f"/entries/{request.path['entry_id']}", request.principal)
    if isinstance(found, Response):
        return found
    kind, code = found.get("holder_type"), found.get("holder_code")
    readable = isinstance(kind, str) and isinstance(code, str) and may_read(request.principal, (kind, code))
    if not readable and request.principal.role not in CITY_READ:
        raise NotFound()  # outside one's scope an entry does not exist (issue 15)
    return Response(json.dumps(found, ensure_ascii=False), media_type="application/json")


def _query_holder(request: Call) -> Holder:
    assert isinstance(request.query, BalancesQuery | StatementQuery)
    return request.query.holder_type, request.query.holder_code


def _reservation_holder(record: dict[str, Any]) -> Holder:
    return str(record["holder_type"]), str(record["holder_code"])


def command(path: str, body: type[Any], response: Any, summary: str, **kw: Any) -> Forward:
    """A money command: `201`, an `Idempotency-Key`, the ledger's refusals passed through."""
    internal = INTERNAL + path.removeprefix(L)
    kw.setdefault("roles", MONEY)
    return Forward("POST", path, "ledger", internal, response, summary, body=body, status=201,
                   idempotency="required", errors=REFUSALS, **kw)  # fmt: skip


def read(path: str, response: Any, summary: str, **kw: Any) -> Forward:
    """A read of the ledger."""
    return Forward("GET", path, "ledger", INTERNAL + path.removeprefix(L), response, summary, **kw)


R = "/reservations/{reservation_id}"
ROWS = [
    # -- money in and down
    command(f"{L}/income", IncomeCommand, EntryOut, "Record income (收入)",
            guard=acts_on(lambda b: _holder(b.holder))),
    command(f"{L}/allocations", AllocationCommand, EntryOut, "Allocate one level down (下拨)",
            guard=acts_on(lambda b: _holder(b.from_holder))),
    command(f"{L}/matching", MatchingCommand, MatchingOut, "Record a town's matching (配套)", roles=DECIDERS,
            guard=acts_on(lambda b: ("town", b.town_code))),
    read(f"{L}/towns/{{town_code}}/matching", MatchingStatus, "A town's matching: required and received",
         guard=reads(lambda c: ("town", c.path["town_code"])), errors=REFUSALS),
    Forward("PUT", f"{L}/towns/{{town_code}}/matching", "ledger", f"{INTERNAL}/towns/{{town_code}}/matching",
            MatchingStatus, "Set a town's matching ratio (city)", roles=("city_admin",),
            body=MatchingRatioCommand, errors=REFUSALS),
    # -- reservations and disbursements
    command(f"{L}/reservations", ReservationCommand, ReservationOut, "Reserve for an approved plan (预留)",
            guard=acts_on_open_appeal(lambda b: _holder(b.holder))),
    read(f"{L}{R}", ReservationOut, "One reservation", errors=REFUSALS,
         guard=on_record(R, _reservation_holder, act=False)),
    command(f"{L}{R}/disbursements", ReservedDisbursementCommand, ReservationOut,
            "Post part of a reservation (拨付)", guard=on_record(R, _reservation_holder, act=True)),
    command(f"{L}{R}/release", ReleaseCommand, ReservationOut, "Release the rest (释放)",
            guard=on_record(R, _reservation_holder, act=True)),
    command(f"{L}/disbursements", DisbursementCommand, EntryOut, "Pay a project or beneficiary (拨付)",
            guard=acts_on_open_appeal(lambda b: _holder(b.holder))),
    # -- donors
    command(f"{L}/pledges", PledgeCommand, PledgeOut, "Record a donor's pledge (认捐)",
            guard=acts_on(lambda b: _holder(b.recipient))),
    read(f"{L}/pledges/{{pledge_id}}", PledgeOut, "One pledge", errors=REFUSALS,
         guard=on_record("/pledges/{pledge_id}", _recipient, act=False)),
    command(f"{L}/pledges/{{pledge_id}}/receipts", ReceiptCommand, ReceiptOut, "Record a receipt (到账)",
            guard=on_record("/pledges/{pledge_id}", _recipient, act=True)),
    # -- corrections, reads, reports, audits
    command(f"{L}/entries/{{entry_id}}/reversal", ReversalCommand, EntryOut, "Reverse an entry (冲正)",
            roles=("city_admin",)),
    read(f"{L}/entries/{{entry_id}}", EntryOut, "One journal entry", errors=REFUSALS, guard=_entry_guard),
    read(f"{L}/balances", HolderBalances, "A holder's balances, now or as of a moment", roles=READERS,
         query=BalancesQuery, guard=reads(_query_holder)),
    read(f"{L}/statement", Statement, "An account's statement", query=StatementQuery,
         guard=reads(_query_holder)),
    read(f"{L}/reports/sources", SourcesReport, "Per fund source", roles=CITY_READ),
    read(f"{L}/reports/towns/{{town_code}}", HolderReport, "A town's funds",
         guard=reads(lambda c: ("town", c.path["town_code"]))),
    read(f"{L}/reports/villages/{{village_code}}", HolderReport, "A village's funds",
         guard=reads(lambda c: ("village", c.path["village_code"]))),
    read(f"{L}/reports/payees/{{payee_type}}/{{payee_code}}", PayeeReport, "What a payee received",
         roles=CITY_READ),
    read(f"{L}/donors/{{donor_code}}/report", DonorReport, "A donor's pledges and receipts", roles=CITY_READ),
    read(f"{L}/receipts/{{entry_id}}", ReceiptDocument, "A donation receipt (捐赠收据)", roles=CITY_READ),
    read(f"{L}/audit/verify", ChainReport, "Verify the journal's hash chain", roles=CITY_READ),
    read(f"{L}/audit/reconcile", ReconcileReport, "Rebuild balances from the journal and compare",
         roles=CITY_READ),
]  # fmt: skip
mount(staff, ROWS)


@public.get(
    "",
    response_model=PublicFunds,
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

__all__ = ["ROWS", "router"]
