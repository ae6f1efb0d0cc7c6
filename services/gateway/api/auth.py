"""POST /api/v1/auth/staff: a staff bearer token (DESIGN §10)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import mint_staff_token
from services.common.db import session_scope
from services.common.errors import DomainError, Unauthorized, problem_responses
from services.gateway.errors import TooManyRequests
from services.gateway.service.identity import authenticate
from services.gateway.service.ratelimit import limit_login

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class StaffLogin(BaseModel):
    """Username and password."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    """An OAuth2-style bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@router.post(
    "/staff",
    response_model=TokenOut,
    responses=problem_responses(Unauthorized, TooManyRequests),
    dependencies=[Depends(limit_login)],
)
async def staff_login(body: StaffLogin) -> TokenOut:
    failure: DomainError | None = None
    # Own transaction: a failed attempt must still count towards the lock-out.
    async with session_scope() as session:
        try:
            principal = await authenticate(session, body.username, body.password)
        except Unauthorized as exc:
            failure = exc
    if failure is not None:
        raise failure
    token, ttl = mint_staff_token(principal)
    return TokenOut(access_token=token, expires_in=ttl)
