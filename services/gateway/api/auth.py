"""POST /api/v1/auth/staff: a staff bearer token (DESIGN §10)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.common.auth import mint_staff_token
from services.common.db import session_scope
from services.common.errors import DomainError, Unauthorized, problem_responses
from services.contracts.auth import StaffLogin, TokenOut
from services.gateway.errors import TooManyRequests
from services.gateway.service.identity import authenticate
from services.gateway.service.ratelimit import client_ip, limit_login

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/staff",
    response_model=TokenOut,
    responses=problem_responses(Unauthorized, TooManyRequests),
    dependencies=[Depends(limit_login)],
)
async def staff_login(body: StaffLogin, request: Request) -> TokenOut:
    failure: DomainError | None = None
    # Own transaction: a failed attempt must still count towards the lock-out.
    async with session_scope() as session:
        try:
            principal = await authenticate(session, body.username, body.password, client_ip(request))
        except Unauthorized as exc:
            failure = exc
    if failure is not None:
        raise failure
    token, ttl = mint_staff_token(principal)
    return TokenOut(access_token=token, expires_in=ttl)
