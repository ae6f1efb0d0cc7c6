"""Gateway forwarders from one table: a route is a row, not ten lines.

A `Forward` names the public path and method, the service and internal path it is sent to, who may
call it (`roles`, checked at the door before the body is even read), the typed body and query
models (validated here: a bad body is a `422` problem with a Chinese detail, never forwarded), the
response model (declared, so `/openapi.json` shows it; the service's answer is relayed unchanged),
the success status and the problems it may answer. A `guard` adds a check that needs the body or a
record (the ledger's money scope); it raises a problem or returns a relayed refusal.

`mount(router, rows)` turns the rows into FastAPI routes; `WRITES` records who may call each write,
so the security matrix can prove that every write names its roles and no auditor is among them.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from pydantic import BaseModel

from services.common.auth import Principal, require_role, staff_principal
from services.common.errors import (
    DomainError,
    Forbidden,
    IdempotencyKeyRequired,
    InvalidInput,
    Unauthorized,
    problem_responses,
)
from services.common.scope import is_read_only
from services.common.settings import ServiceName
from services.contracts.vocabulary import ROLE_NAMES, ROLES, Role
from services.gateway.errors import ReadOnly
from services.gateway.service.client import call, relay_response

Auth = Literal["staff", "public", "donor"]
Idempotency = Literal["none", "optional", "required"]
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Every role but the read-only auditor (issue 15.1: an auditor never writes).
HANDLERS: Final[tuple[Role, ...]] = tuple(r for r in ROLES if r != "auditor")
_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a guard sees it: who, the path parameters, the validated body and query."""

    principal: Principal | None
    path: dict[str, Any]
    body: BaseModel | None
    query: BaseModel | None


Guard = Callable[[Call], Awaitable[Response | None]]


@dataclass(frozen=True)
class Forward:
    """One forwarded route: a row of the gateway's table."""

    method: Literal["GET", "POST", "PUT"]
    path: str
    service: ServiceName
    internal: str
    response: Any
    summary: str
    roles: tuple[Role, ...] | None = None
    auth: Auth = "staff"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[type[DomainError], ...] = ()
    idempotency: Idempotency = "none"
    guard: Guard | None = None
    path_types: dict[str, Any] = field(default_factory=dict)
    # Some internal commands take an empty JSON object where the public route takes no body.
    empty_json: bool = False
    description: str | None = None
    # Route-level dependencies, e.g. the public rate limit.
    dependencies: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.method in WRITE_METHODS and self.auth == "staff":
            if not self.roles:
                raise ValueError(f"{self.method} {self.path}: a staff write names the roles that may call it")
            if "auditor" in self.roles:
                raise ValueError(f"{self.method} {self.path}: an auditor only reads")


WRITES: dict[tuple[str, str], tuple[Role, ...]] = {}
"""(method, full path) → the roles a staff write admits, for the security matrix."""


def roles_dependency(roles: tuple[Role, ...] | None, *, write: bool = False) -> Any:
    """The staff principal, refused at the door (before the body is read) when its role is not in
    `roles` (an auditor on a write: `read_only`); with `roles` None any member of staff passes and
    the service decides."""

    async def dependency(principal: Annotated[Principal, Depends(staff_principal)]) -> Principal:
        if write and is_read_only(principal):
            raise ReadOnly()
        if roles is not None:
            require_role(principal, *roles)
        return principal

    return Depends(dependency)


def _path_annotation(name: str, row: Forward) -> Any:
    if name in row.path_types:
        return row.path_types[name]
    return Annotated[uuid.UUID if name.endswith("_id") else str, Path()]


def _describe(row: Forward) -> str:
    parts = [row.description] if row.description else []
    if row.auth == "staff":
        who = (
            "、".join(f"`{r}` {ROLE_NAMES[r]}" for r in row.roles)
            if row.roles
            else "any member of staff (the service checks scope)"
        )
        parts.append(f"Roles: {who}.")
    if row.idempotency == "required":
        parts.append("Needs an `Idempotency-Key` header: a replay answers as the first request did.")
    return "\n\n".join(parts)


def _errors(row: Forward) -> dict[int | str, dict[str, Any]]:
    errors: list[type[DomainError]] = list(row.errors)
    if row.auth in ("staff", "donor"):
        errors.insert(0, Unauthorized)
    if row.auth == "staff" and row.roles is not None and Forbidden not in errors:
        errors.append(Forbidden)
    if (row.body or row.query or row.idempotency == "required") and InvalidInput not in errors:
        errors.append(InvalidInput)
    if row.idempotency == "required" and IdempotencyKeyRequired not in errors:
        errors.append(IdempotencyKeyRequired)
    return problem_responses(*errors)


def _endpoint(row: Forward) -> Callable[..., Awaitable[Response]]:
    names = _PARAM.findall(row.path)

    async def endpoint(**kwargs: Any) -> Response:
        principal: Principal | None = kwargs.get("principal")
        body: BaseModel | None = kwargs.get("body")
        query: BaseModel | None = kwargs.get("query")
        values = {name: kwargs[name] for name in names}
        headers: dict[str, str] = {}
        key = kwargs.get("idempotency_key")
        if row.idempotency == "required" and not key:
            raise IdempotencyKeyRequired()
        if key:
            headers["Idempotency-Key"] = key
        if row.auth == "donor":
            donor_key = kwargs.get("donor_key")
            if not donor_key:
                raise Unauthorized()
            headers["X-Donor-Key"] = donor_key
        if row.guard is not None:
            refused = await row.guard(Call(principal, values, body, query))
            if refused is not None:
                return refused
        payload: Any = None
        if body is not None:
            payload = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
        elif row.empty_json:
            payload = {}
        params = query.model_dump(mode="json", by_alias=True, exclude_none=True) if query else None
        upstream = await call(
            row.service,
            row.method,
            row.internal.format(**{k: str(v) for k, v in values.items()}),
            actor=principal,
            params=params,
            json=payload,
            headers=headers or None,
        )
        return relay_response(upstream)

    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(n, kw, annotation=_path_annotation(n, row)) for n in names]
    if row.auth == "staff":
        params.append(
            inspect.Parameter(
                "principal",
                kw,
                annotation=Annotated[
                    Principal, roles_dependency(row.roles, write=row.method in WRITE_METHODS)
                ],
            )
        )
    if row.body is not None:
        params.append(inspect.Parameter("body", kw, annotation=Annotated[row.body, Body()]))
    if row.query is not None:
        params.append(inspect.Parameter("query", kw, annotation=Annotated[row.query, Query()]))
    if row.auth == "donor":
        donor = Annotated[
            str | None,
            Header(alias="X-Donor-Key", max_length=128, description="the key a donor got on joining"),
        ]
        params.append(inspect.Parameter("donor_key", kw, annotation=donor, default=None))
    if row.idempotency != "none":
        idem = Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=128,
                description="unique per command; a replay answers the same",
            ),
        ]
        params.append(inspect.Parameter("idempotency_key", kw, annotation=idem, default=None))
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    return endpoint


def _operation_id(row: Forward) -> str:
    words = re.sub(r"[{}]", "", row.path.removeprefix("/api/v1/")).replace("-", "_").split("/")
    return "_".join([row.method.lower(), *filter(None, words)])


def mount(router: APIRouter, rows: Sequence[Forward]) -> None:
    """Add every row to `router` (whose prefix the rows' paths start with)."""
    for row in rows:
        if not row.path.startswith(router.prefix):
            raise ValueError(f"{row.path} is not under {router.prefix}")
        endpoint = _endpoint(row)
        endpoint.__name__ = _operation_id(row)
        router.add_api_route(
            row.path.removeprefix(router.prefix),
            endpoint,
            methods=[row.method],
            status_code=row.status,
            response_model=row.response,
            summary=row.summary,
            description=_describe(row),
            responses=_errors(row),
            operation_id=_operation_id(row),
            dependencies=list(row.dependencies),
            openapi_extra={"x-roles": list(row.roles)} if row.auth == "staff" and row.roles else None,
        )
        if row.method in WRITE_METHODS and row.auth == "staff" and row.roles:
            WRITES[(row.method, row.path)] = row.roles


__all__ = ["HANDLERS", "WRITES", "Call", "Forward", "Guard", "ReadOnly", "mount", "roles_dependency"]
