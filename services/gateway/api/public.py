"""Public endpoints: no personal data, cacheable with ETag / 304 (DESIGN §10)."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Query, Response
from redis.exceptions import RedisError

from services.common import status_documents
from services.common.errors import Conflict, NotFound, ServiceUnavailable, problem_responses
from services.common.etag import etag_matches, etag_of
from services.contracts.appeals import CodeEvaluation, CodeWithdrawal, PublicAppeal
from services.contracts.staff import EvaluationIn, Moved
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ratelimit import count_wrong_code, guess_window, limit_public, refuse_if_guessed

router = APIRouter(prefix="/api/v1/public", tags=["public"], dependencies=[Depends(limit_public)])
TICKET_RE = re.compile(r"^MS\d{8,20}$")
log = structlog.get_logger(__name__)


@router.get(
    "/appeals/{ticket_no}",
    response_model=PublicAppeal,
    summary="The public status of an appeal, for whoever holds its query code (查询码)",
    responses={
        304: {"description": "Not modified"},
        **problem_responses(NotFound, TooManyRequests, ServiceUnavailable),
    },
)
async def public_appeal(
    ticket_no: str,
    code: Annotated[str | None, Query(max_length=32, description="查询码")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # A missing or malformed code is as unknown as a wrong one: nothing to learn by probing.
    if not code or not TICKET_RE.match(ticket_no):
        raise NotFound()
    # One round trip: the ticket's wrong-code counter and its document.
    window = guess_window(ticket_no)
    stored, wrong = await _stored(ticket_no, window.key)
    window.refuse_past(wrong)
    if stored is not None:
        if not hmac.compare_digest(stored.mac, status_documents.code_mac(ticket_no, code)):
            # Exactly intake's answer to a wrong code, counted the same way.
            await count_wrong_code(ticket_no)
            raise NotFound()
        etag, body = stored.etag, stored.body
    else:
        # None kept, or marked changed: intake answers from PostgreSQL (one indexed read, or a
        # rebuild after a change) and keeps the document where the next poll finds it.
        upstream = await call("intake", "GET", f"/internal/public/appeals/{ticket_no}", params={"code": code})
        if upstream.status_code == 404:
            await count_wrong_code(ticket_no)
            raise NotFound()
        if upstream.status_code != 200:
            raise ServiceUnavailable()
        body = upstream.content
        etag = upstream.headers.get("etag") or etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@router.post(
    "/withdrawals",
    response_model=Moved,
    summary="撤回: withdraw an appeal with its query code (查询码), before work on it starts",
    description="After work started: `409 work_started`; an ended appeal: `409 illegal_transition`. "
    "Withdrawing again answers the same.",
    responses=problem_responses(NotFound, Conflict, TooManyRequests, ServiceUnavailable),
)
async def withdraw_with_code(body: CodeWithdrawal) -> Response:
    ticket_no = body.ticket_no
    if not TICKET_RE.match(ticket_no):
        raise NotFound()
    await refuse_if_guessed(ticket_no)
    upstream = await call("intake", "POST", "/internal/public/withdrawals", json=body.model_dump(mode="json"))
    if upstream.status_code == 404:
        await count_wrong_code(ticket_no)
        raise NotFound()
    return relay_response(upstream)


@router.post(
    "/appeals/{ticket_no}/evaluation",
    response_model=Moved,
    summary="满意度评价: rate the result with the query code (查询码), when the appeal waits for it",
    description="The mini-program's rules: the reporter's rating of the current round while the appeal "
    "is completed and waits for its return visit (回访); 不满意 reopens it, anything else closes it. "
    "Sending the same rating again answers the same; another rating of a rated round is "
    "`409 already_evaluated`, an appeal not waiting for one `409 not_awaiting_evaluation`. A wrong "
    "code is a `404`, counted like a wrong code on the status (too many: `429`).",
    responses=problem_responses(NotFound, Conflict, TooManyRequests, ServiceUnavailable),
)
async def rate_with_code(
    ticket_no: str,
    body: EvaluationIn,
    code: Annotated[str | None, Query(max_length=32, description="查询码")] = None,
) -> Response:
    if not code or not TICKET_RE.match(ticket_no):
        raise NotFound()
    await refuse_if_guessed(ticket_no)
    payload = CodeEvaluation(ticket_no=ticket_no, query_code=code, **body.model_dump())
    upstream = await call(
        "intake", "POST", "/internal/public/evaluations", json=payload.model_dump(mode="json")
    )
    if upstream.status_code == 404:
        await count_wrong_code(ticket_no)
        raise NotFound()
    return relay_response(upstream)


async def _stored(ticket_no: str, counter: str) -> tuple[status_documents.Stored | None, bytes | None]:
    # A Redis that does not answer is a miss (intake still answers) and no counter, as the
    # limiter itself treats it.
    try:
        return await status_documents.read_beside(ticket_no, counter)
    except (RedisError, OSError) as exc:
        log.warning("status_documents_unavailable", error=repr(exc))
        return None, None
