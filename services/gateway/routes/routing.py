"""Staff routes of routing: triage and its manual queue, the policy catalogue, hops, joint meetings.

Thin forwarders: the gateway checks the role, routing checks the scope (which town, which unit)
and answers; its problems pass through unchanged.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.common.auth import Role, StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])
JsonBody = Annotated[dict[str, Any], Body()]
DECIDERS: tuple[Role, ...] = ("city_admin", "town_staff")


@router.get(
    "/triage/{appeal_id}",
    summary="How an appeal was triaged: kind, category, urgency, place, policies, confidences, why",
    responses=problem_responses(Unauthorized, NotFound),
)
async def triage(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(await call("routing", "GET", f"/internal/triage/{appeal_id}", actor=principal))


@router.get(
    "/queue",
    summary="The manual triage queue (人工分拣) of the town, or of the city",
    responses=problem_responses(Unauthorized, Forbidden),
)
async def queue(
    principal: StaffPrincipal,
    town_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    require_role(principal, *DECIDERS)
    params: dict[str, Any] = {"limit": limit}
    if town_code:
        params["town_code"] = town_code
    return relay_response(
        await call("routing", "GET", "/internal/triage-queue", params=params, actor=principal)
    )


@router.post(
    "/triage/{appeal_id}/decision",
    summary="Decide or correct an appeal's triage and holder (recorded; improves the model)",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def decide(appeal_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *DECIDERS)
    return relay_response(
        await call("routing", "POST", f"/internal/triage/{appeal_id}/decision", json=body, actor=principal)
    )


@router.post(
    "/triage/{appeal_id}/escalation",
    summary="The town passes the decision to the city",
    responses=problem_responses(Unauthorized, Forbidden, Conflict),
)
async def escalate(appeal_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *DECIDERS)
    return relay_response(
        await call("routing", "POST", f"/internal/triage/{appeal_id}/escalation", json=body, actor=principal)
    )


@router.post(
    "/triage/{appeal_id}/agenda",
    status_code=201,
    summary="Put a case no single department owns on the town's or city's joint meeting agenda",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def to_agenda(appeal_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *DECIDERS)
    return relay_response(
        await call("routing", "POST", f"/internal/triage/{appeal_id}/agenda", json=body, actor=principal)
    )


@router.get(
    "/models", summary="Trained triage models and their scores", responses=problem_responses(Forbidden)
)
async def models(principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "auditor")
    return relay_response(await call("routing", "GET", "/internal/triage-models", actor=principal))


# --- the policy catalogue (public to read; city staff edit) ------------------------------------------


@router.get("/catalogue", summary="The current policy catalogue: 17 departments, their policies")
async def catalogue() -> Response:
    return relay_response(await call("routing", "GET", "/internal/catalogue"))


@router.get("/catalogue/versions", summary="Every version of the catalogue, newest first")
async def catalogue_versions() -> Response:
    return relay_response(await call("routing", "GET", "/internal/catalogue/versions"))


@router.get(
    "/catalogue/versions/{version}", summary="One catalogue version", responses=problem_responses(NotFound)
)
async def catalogue_version(version: str) -> Response:
    return relay_response(await call("routing", "GET", f"/internal/catalogue/versions/{version}"))


@router.put(
    "/catalogue/policies/{code}",
    summary="Create or change a policy (city staff): a new catalogue version",
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput, Conflict),
)
async def put_policy(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin")
    return relay_response(
        await call("routing", "PUT", f"/internal/catalogue/policies/{code}", json=body, actor=principal)
    )


@router.post(
    "/catalogue/policies/{code}/retirement",
    summary="Take a policy out of the catalogue (city staff): a new catalogue version",
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput, Conflict),
)
async def retire_policy(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin")
    return relay_response(
        await call(
            "routing", "POST", f"/internal/catalogue/policies/{code}/retirement", json=body, actor=principal
        )
    )


# --- hops: sign-off, send-back ------------------------------------------------------------------------


@router.get("/send-back-reasons", summary="Reason codes a unit may give for a send-back (退单)")
async def send_back_reasons() -> Response:
    return relay_response(await call("routing", "GET", "/internal/send-back-reasons"))


@router.get(
    "/assignments/{appeal_id}",
    summary="Every hop of an appeal (交办, 签收, 退单, 改派)",
    responses=problem_responses(Unauthorized, NotFound),
)
async def assignments(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(await call("routing", "GET", f"/internal/assignments/{appeal_id}", actor=principal))


@router.post(
    "/assignments/{appeal_id}/sign-off",
    summary="签收: the holding unit takes the appeal on",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def sign_off(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call("routing", "POST", f"/internal/assignments/{appeal_id}/sign-off", actor=principal)
    )


@router.post(
    "/assignments/{appeal_id}/return",
    summary="退单: the holding unit sends the appeal back with a reason code and its policy basis",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def send_back(appeal_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    return relay_response(
        await call("routing", "POST", f"/internal/assignments/{appeal_id}/return", json=body, actor=principal)
    )


# --- joint meetings (联席会议) ------------------------------------------------------------------------


@router.get(
    "/joint-meetings/agenda",
    summary="The pending agenda of a town's or the city's joint meeting",
    responses=problem_responses(Unauthorized, Forbidden),
)
async def agenda(
    principal: StaffPrincipal,
    level: Annotated[str, Query(pattern="^(town|city)$")],
    org_code: Annotated[str, Query(max_length=32)],
) -> Response:
    params = {"level": level, "org_code": org_code}
    return relay_response(
        await call("routing", "GET", "/internal/joint-meetings/agenda", params=params, actor=principal)
    )


@router.post(
    "/joint-meetings",
    status_code=201,
    summary="Record a joint meeting of a town or the city",
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput),
)
async def create_meeting(principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *DECIDERS)
    return relay_response(
        await call("routing", "POST", "/internal/joint-meetings", json=body, actor=principal)
    )


@router.post(
    "/joint-meetings/{meeting_id}/decisions",
    summary="The meeting's decision: the lead unit (and assisting units) get the case, bindingly",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def meeting_decision(meeting_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *DECIDERS)
    return relay_response(
        await call(
            "routing", "POST", f"/internal/joint-meetings/{meeting_id}/decisions", json=body, actor=principal
        )
    )
