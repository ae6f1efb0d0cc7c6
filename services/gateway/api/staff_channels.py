"""Staff channels: `POST /api/v1/channels/{channel}/appeals` and the meeting minutes (DESIGN §4).

Every route: a staff bearer token whose role may file through the channel (403 otherwise), an
`Idempotency-Key` header (its key, scoped to the member of staff, is the appeal's channel_ref;
a department referral uses the referring case number instead), a body checked and normalised in
one place, the appeal placed inside the filer's organisation (403 `out_of_scope` otherwise).
A replay answers `200` with the first answer; the same key with another body is a `409`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.common.auth import Principal, StaffPrincipal
from services.common.errors import (
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InvalidInput,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.contracts.appeals import AppealAccepted, AppealDraft
from services.contracts.channels import MaskedPerson, MinutesFiled, StaffFiled
from services.contracts.vocabulary import ROLE_NAMES, ROLES
from services.gateway.service.channels import consultation, staff
from services.gateway.service.channels.staff import OutOfScope, StaffChannel, WrongRole
from services.gateway.service.client import call, recorded_new
from services.gateway.service.inbound import first_answer, remember
from services.gateway.service.normalise import (
    InvalidIdNumberProblem,
    InvalidPhoneProblem,
    UnknownPlace,
    body_digest,
    mask_person,
    redact,
)

router = APIRouter(prefix="/api/v1/channels", tags=["staff channels"])
KEY_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
RESPONSES: dict[int | str, dict[str, Any]] = problem_responses(
    Unauthorized,
    WrongRole,
    InvalidInput,
    IdempotencyConflict,
    ServiceUnavailable,
)
for _extra in (OutOfScope, IdempotencyKeyRequired, InvalidIdNumberProblem, InvalidPhoneProblem, UnknownPlace):
    RESPONSES[_extra.status]["description"] += f" `{_extra.code}`: {_extra.title}."


def _filer(channel: StaffChannel) -> Any:
    async def dependency(principal: StaffPrincipal) -> Principal:
        staff.require_filer(principal, channel)
        return principal

    return Depends(dependency)


def _key(idempotency_key: str | None) -> str:
    if not idempotency_key:
        raise IdempotencyKeyRequired()
    if not KEY_RE.match(idempotency_key):
        raise InvalidInput("Idempotency-Key 须为1到64位可见 ASCII 字符。", field="Idempotency-Key")
    return idempotency_key


IdempotencyKey = Annotated[str | None, Header(description="unique per command; a replay answers the same")]


def _filed(accepted: AppealAccepted, draft: AppealDraft) -> dict[str, Any]:
    return StaffFiled(
        **accepted.model_dump(),
        town_code=draft.location.town_code,
        village_code=draft.location.village_code,
        reporter=MaskedPerson(**mask_person(draft.reporter)),
        on_behalf_of=MaskedPerson(**mask_person(draft.on_behalf_of)) if draft.on_behalf_of else None,
    ).model_dump(mode="json")


def _upstream_error(status: int) -> Exception:
    if status == 409:
        return IdempotencyConflict()
    if status == 422:
        return InvalidInput("诉求内容未通过受理校验，请核对后重试。")
    return ServiceUnavailable()


async def _file(
    principal: Principal,
    channel: StaffChannel,
    key: str | None,
    body: BaseModel,
    build: Callable[[str], AppealDraft],
    *,
    ref: str | None = None,
) -> JSONResponse:
    channel_ref = ref or staff.staff_ref(principal, _key(key))
    if ref is not None:
        _key(key)
    digest = body_digest(body)
    if (first := await first_answer(channel, channel_ref, digest)) is not None:
        return JSONResponse(first, status_code=200)
    draft = staff.prepared(principal, build(channel_ref))
    upstream = await call("intake", "POST", "/internal/appeals", json=draft, actor=principal)
    if upstream.status_code not in (200, 201):
        raise _upstream_error(upstream.status_code)
    accepted = AppealAccepted.model_validate_json(upstream.content)
    answer = _filed(accepted, draft)
    kept = {"idempotency_key": key, "body": redact(body.model_dump(mode="json"))}
    await remember(channel, channel_ref, digest, kept, accepted.appeal_id, answer)
    return JSONResponse(answer, status_code=201 if recorded_new(upstream) else 200)


def _doc(summary: str, channel: StaffChannel) -> dict[str, Any]:
    return {
        "openapi_extra": {"x-roles": [r for r in ROLES if r in staff.FILERS[channel]]},
        "description": "Roles: "
        + "、".join(f"`{r}` {ROLE_NAMES[r]}" for r in ROLES if r in staff.FILERS[channel])
        + ".",
        "status_code": 201,
        "response_model": StaffFiled,
        "summary": summary,
        "responses": {200: {"description": "A replay: the first answer", "model": StaffFiled}, **RESPONSES},
    }


@router.post(
    "/leader-station/appeals",
    **_doc("领导干部驻点: a resident's appeal taken at a station", "leader_station"),
)
async def leader_station(
    body: staff.LeaderStationFiling,
    principal: Annotated[Principal, _filer("leader_station")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal, "leader_station", idempotency_key, body, lambda r: staff.leader_station(r, principal, body)
    )


@router.post(
    "/grid-inspector/appeals",
    **_doc("网格员巡查: a patrol finding with photos, GPS and grid code", "grid_inspector"),
)
async def grid_inspector(
    body: staff.GridInspection,
    principal: Annotated[Principal, _filer("grid_inspector")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "grid_inspector",
        idempotency_key,
        body,
        lambda r: staff.grid_inspection(r, principal, body),
    )


@router.post(
    "/village-visit/appeals", **_doc("村（社区）干部走访: filed on behalf of a family", "village_visit")
)
async def village_visit(
    body: staff.VisitFiling,
    principal: Annotated[Principal, _filer("village_visit")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "village_visit",
        idempotency_key,
        body,
        lambda r: staff.visit("village_visit", r, principal, body),
    )


@router.post(
    "/party-member-visit/appeals", **_doc("党员干部走访: a micro-wish found on a visit", "party_member_visit")
)
async def party_member_visit(
    body: staff.VisitFiling,
    principal: Annotated[Principal, _filer("party_member_visit")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "party_member_visit",
        idempotency_key,
        body,
        lambda r: staff.visit("party_member_visit", r, principal, body),
    )


@router.post(
    "/station-walk-in/appeals",
    **_doc("莞家驿站: a walk-in entered by the station's worker", "station_walk_in"),
)
async def station_walk_in(
    body: staff.StationWalkIn,
    principal: Annotated[Principal, _filer("station_walk_in")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "station_walk_in",
        idempotency_key,
        body,
        lambda r: staff.station_walk_in(r, principal, body),
    )


@router.post(
    "/department-referral/appeals",
    **_doc(
        "部门转办: a referral; the referring case number identifies it (a resend is a replay)",
        "department_referral",
    ),
)
async def department_referral(
    body: staff.DepartmentReferral,
    principal: Annotated[Principal, _filer("department_referral")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "department_referral",
        idempotency_key,
        body,
        lambda r: staff.department_referral(r, principal, body),
        ref=staff.referral_ref(principal, body.referring_case_no),
    )


@router.post("/web-portal/appeals", **_doc("网上平台: a resident's portal form", "web_portal"))
async def web_portal(
    body: staff.PortalForm,
    principal: Annotated[Principal, _filer("web_portal")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal, "web_portal", idempotency_key, body, lambda r: staff.portal_form(r, principal, body)
    )


@router.post(
    "/online-consultation/appeals", **_doc("网络协商: a thread of posts and replies", "online_consultation")
)
async def online_consultation(
    body: consultation.OnlineConsultation,
    principal: Annotated[Principal, _filer("online_consultation")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _file(
        principal,
        "online_consultation",
        idempotency_key,
        body,
        lambda r: consultation.online_consultation(r, principal, body),
    )


@router.post(
    "/consultation-meeting/minutes",
    status_code=201,
    response_model=MinutesFiled,
    summary="协商会议: one set of minutes files several appeals, all or none",
    openapi_extra={"x-roles": [r for r in ROLES if r in staff.FILERS["consultation_meeting"]]},
    responses={200: {"description": "A replay: the first answer", "model": MinutesFiled}, **RESPONSES},
)
async def consultation_meeting(
    body: consultation.MeetingMinutes,
    principal: Annotated[Principal, _filer("consultation_meeting")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    channel: StaffChannel = "consultation_meeting"
    meeting_ref = staff.staff_ref(principal, _key(idempotency_key))
    digest = body_digest(body)
    if (first := await first_answer(channel, meeting_ref, digest)) is not None:
        return JSONResponse(first, status_code=200)
    # Every item is normalised and scope-checked before anything is sent: one bad item, no appeal.
    drafts = [staff.prepared(principal, d) for d in consultation.meeting_drafts(meeting_ref, principal, body)]
    upstream = await call(
        "intake",
        "POST",
        "/internal/appeals/batch",
        json={"drafts": [d.model_dump(mode="json") for d in drafts]},
        actor=principal,
    )
    if upstream.status_code not in (200, 201):
        raise _upstream_error(upstream.status_code)
    accepted = [AppealAccepted.model_validate(a) for a in upstream.json()["appeals"]]
    answer = MinutesFiled.model_validate(
        {"appeals": [_filed(a, d) for a, d in zip(accepted, drafts, strict=True)]}
    ).model_dump(mode="json")
    kept = {"idempotency_key": idempotency_key, "body": redact(body.model_dump(mode="json"))}
    await remember(channel, meeting_ref, digest, kept, None, answer)
    return JSONResponse(answer, status_code=201 if upstream.status_code == 201 else 200)
