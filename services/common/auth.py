"""Tokens: service-to-service (internal) and staff (bearer), both short-lived HS256 JWTs.

The gateway calls a service with a service token whose `act` claim carries the staff principal
it verified, so a service knows who acts without trusting any header a client could set.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Header
from pydantic import BaseModel

from services.common.errors import DomainError, Forbidden, Unauthorized
from services.common.settings import get_settings

# Re-exported: the roles are the shared vocabulary's; services import them from here or from there.
from services.contracts.vocabulary import ROLES as ROLES
from services.contracts.vocabulary import Role as Role
from services.contracts.vocabulary import UnitType

INTERNAL_AUDIENCE = "guanjia-internal"
STAFF_AUDIENCE = "guanjia-staff"
SERVICE_TOKEN_TTL_S = 120


class Principal(BaseModel):
    """A member of staff as the token says: who, which role, which organisation."""

    staff_id: str
    username: str
    role: Role
    org_type: UnitType
    org_code: str


class ServiceCaller(BaseModel):
    """A verified internal call."""

    service: str
    actor: Principal | None = None


def mint_service_token(service: str, actor: Principal | None = None, ttl_s: int = SERVICE_TOKEN_TTL_S) -> str:
    """A token for calling another service's /internal API."""
    now = int(time.time())
    secret = get_settings().require("internal_secret")
    if actor is None:
        return _plain_service_token(service, now, ttl_s, secret)
    claims: dict[str, Any] = {"sub": service, "aud": INTERNAL_AUDIENCE, "iat": now, "exp": now + ttl_s}
    claims["act"] = actor.model_dump()
    return jwt.encode(claims, secret, algorithm="HS256")


@lru_cache(maxsize=64)
def _plain_service_token(service: str, now: int, ttl_s: int, secret: str) -> str:
    # The same claims within one second make the same token, so a burst of calls signs it once.
    claims = {"sub": service, "aud": INTERNAL_AUDIENCE, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_service_token(token: str) -> ServiceCaller:
    """Check an internal token; any defect is a 401."""
    try:
        caller, expires = _verified_service_token(token, get_settings().require("internal_secret"))
    except jwt.PyJWTError as exc:
        raise Unauthorized() from exc
    # A token checked before is not checked again, but its expiry is, on every call (as PyJWT does).
    if expires <= time.time():
        raise Unauthorized()
    return caller


@lru_cache(maxsize=1024)
def _verified_service_token(token: str, secret: str) -> tuple[ServiceCaller, int]:
    # A burst of calls carries the same few tokens (one per caller and second): the signature and
    # claims are checked once per token, not once per call. Only a valid token is kept.
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=INTERNAL_AUDIENCE)
    act = claims.get("act")
    caller = ServiceCaller(service=str(claims["sub"]), actor=Principal.model_validate(act) if act else None)
    return caller, int(claims["exp"])


def mint_staff_token(principal: Principal) -> tuple[str, int]:
    """A bearer token for a member of staff, and its lifetime in seconds."""
    settings = get_settings()
    now = int(time.time())
    ttl = settings.staff_token_ttl_s
    claims = {"sub": principal.staff_id, "aud": STAFF_AUDIENCE, "iat": now, "exp": now + ttl}
    claims.update(principal.model_dump(exclude={"staff_id"}))
    return jwt.encode(claims, settings.require("token_secret"), algorithm="HS256"), ttl


def verify_staff_token(token: str) -> Principal:
    """Check a staff bearer token: our signature, our audience as a single string (PyJWT also
    accepts a list holding it), an expiry (PyJWT accepts a token without one) and every claim."""
    try:
        claims = jwt.decode(
            token,
            get_settings().require("token_secret"),
            algorithms=["HS256"],
            audience=STAFF_AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
        if claims["aud"] != STAFF_AUDIENCE:
            raise Unauthorized()
        return Principal(
            staff_id=str(claims["sub"]),
            **{k: claims[k] for k in ("username", "role", "org_type", "org_code")},
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:  # ValueError: pydantic's, a bad role
        raise Unauthorized() from exc


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized()
    return authorization[7:].strip()


async def internal_caller(authorization: Annotated[str | None, Header()] = None) -> ServiceCaller:
    """FastAPI dependency guarding every /internal route."""
    return verify_service_token(_bearer(authorization))


InternalCaller = Annotated[ServiceCaller, Depends(internal_caller)]


AccountCheck = Callable[[Principal], Awaitable[bool]]
_account_check: AccountCheck | None = None


def use_account_check(check: AccountCheck) -> None:
    """Set how a verified token's account is checked (the gateway's, which owns the accounts):
    a disabled or deleted member of staff, or one moved to another role or unit, must not keep
    acting on a token minted before."""
    global _account_check
    _account_check = check


async def staff_principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
    """FastAPI dependency for staff routes on the gateway."""
    principal = verify_staff_token(_bearer(authorization))
    settings = get_settings()
    checking = settings.check_staff_accounts or settings.env != "test"
    if checking and _account_check is not None and not await _account_check(principal):
        raise Unauthorized()
    return principal


StaffPrincipal = Annotated[Principal, Depends(staff_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    """Refuse a principal whose role is not among `roles`."""
    if principal.role not in roles:
        raise Forbidden()


# --- the acting member of staff, in every service -------------------------------------------------


def staff_of(caller: ServiceCaller, missing: type[DomainError] = Unauthorized) -> Principal:
    """The member of staff the gateway vouches for in a service call; ``missing`` (401 unless a
    service documents another problem) when the call carries none."""
    if caller.actor is None:
        raise missing()
    return caller.actor


async def acting_staff(caller: InternalCaller) -> Principal:
    """FastAPI dependency: the member of staff a service call acts for; 401 without one."""
    return staff_of(caller)


async def acting_staff_or_none(caller: InternalCaller) -> Principal | None:
    """FastAPI dependency: the member of staff, or None for a call the gateway made on a
    resident's or donor's behalf."""
    return caller.actor


StaffActor = Annotated[Principal, Depends(acting_staff)]
"""A member of staff, as the gateway verified them; 401 without one."""
MaybeStaffActor = Annotated[Principal | None, Depends(acting_staff_or_none)]
"""A member of staff, or None when the gateway calls for a resident or a donor."""


def author_of(caller: ServiceCaller) -> str:
    """Who a journal records as the author of a call: the calling service, and the staff it acts for."""
    if caller.actor is None:
        return caller.service
    return f"{caller.service}/{caller.actor.staff_id}"
