"""`/api/v1/miniprogram`: residents log in, file appeals with photos, follow and rate them.

Every route but the login needs the resident token it returns. Filing needs an
`Idempotency-Key` header: a replay answers `200` with the first ticket, the same key with
another body is a `409`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from services.common.crypto import lookup_hash
from services.common.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    problem_responses,
)
from services.contracts.appeals import AppealAccepted, Attachment, WithdrawalIn
from services.contracts.auth import ResidentToken, SessionIn
from services.contracts.channels import MediaOut
from services.contracts.notices import ObjectionReceipt, ResidentObjectionCall, ResidentObjectionIn
from services.contracts.staff import EvaluationIn, Moved, OwnAppeal
from services.gateway.errors import FilingTooLarge, TooManyRequests, UnsupportedContentType
from services.gateway.service.channels import media
from services.gateway.service.channels.miniprogram import (
    MAX_PHOTOS,
    LoginCodeInvalid,
    LoginRateLimited,
    LoginUnavailable,
    ResidentAppealForm,
    ResidentPrincipal,
    ResidentTokenInvalid,
    WeChatBusy,
    login,
    mint_resident_token,
    to_draft,
)
from services.gateway.service.client import call, recorded_new, relay_response
from services.gateway.service.normalise import normalise_draft
from services.gateway.service.ratelimit import limit_public

router = APIRouter(prefix="/api/v1/miniprogram", tags=["mini-program"], dependencies=[Depends(limit_public)])
KEY_RE: Final = re.compile(r"^[\x21-\x7e]{1,64}$")
TICKET_RE: Final = re.compile(r"^MS\d{8,20}$")
# A multipart filing: the form, nine photos, and multipart's own overhead.
MAX_FORM_BYTES: Final = 64 * 1024
MAX_FILING_BYTES: Final = MAX_PHOTOS * media.MAX_PHOTO_BYTES + 256 * 1024


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        errors=[
            {"field": ".".join(str(p) for p in e["loc"]) or None, "reason": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
    )


def _key(value: str | None) -> str:
    if not value:
        raise IdempotencyKeyRequired()
    if not KEY_RE.match(value):
        raise InvalidInput("Idempotency-Key 须为1到64位可见 ASCII 字符。", field="Idempotency-Key")
    return value


def _too_large(request: Request, limit: int, error: type[DomainError] = media.MediaTooLarge) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise error()


@router.post(
    "/session",
    response_model=ResidentToken,
    summary="Log in with the code of wx.login (WeChat code2session)",
    responses=problem_responses(
        LoginCodeInvalid, LoginRateLimited, WeChatBusy, LoginUnavailable, InvalidInput
    ),
)
async def session(body: SessionIn) -> ResidentToken:
    openid = await login(body.code)
    token, ttl = mint_resident_token(openid)
    return ResidentToken(access_token=token, expires_in=ttl)


@router.post(
    "/media",
    status_code=201,
    response_model=MediaOut,
    summary="Upload one photo (multipart field `file`; JPEG, PNG or WebP, at most 10 MiB)",
    responses=problem_responses(
        ResidentTokenInvalid, media.MediaTooLarge, media.UnsupportedMedia, InvalidInput, TooManyRequests
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_media(request: Request, who: ResidentPrincipal) -> MediaOut:
    _too_large(request, media.MAX_PHOTO_BYTES + 64 * 1024)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedContentType("请以 multipart/form-data 格式上传照片（字段名 file）。")
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("缺少照片文件（字段名 file）。", field="file")
        stored = await media.save_upload(upload)
    return MediaOut(media_id=stored.sha256, media_type=stored.media_type, size_bytes=stored.size_bytes)


async def _read_filing(request: Request) -> tuple[ResidentAppealForm, list[media.StoredMedia]]:
    """The form and any photos sent with it, from JSON or multipart/form-data."""
    content_type = request.headers.get("content-type", "")
    uploaded: list[media.StoredMedia] = []
    if content_type.startswith("application/json"):
        _too_large(request, MAX_FORM_BYTES, FilingTooLarge)
        raw: Any = await request.body()
        if len(raw) > MAX_FORM_BYTES:
            raise FilingTooLarge()
    elif content_type.startswith("multipart/form-data"):
        _too_large(request, MAX_FILING_BYTES)
        async with request.form(max_files=MAX_PHOTOS, max_fields=10) as form:
            raw = form.get("appeal")
            if not isinstance(raw, str):
                raise InvalidInput("缺少诉求内容（字段名 appeal，JSON）。", field="appeal")
            for part in form.getlist("photos"):
                if not isinstance(part, UploadFile):
                    raise InvalidInput("photos 须为照片文件。", field="photos")
                uploaded.append(await media.save_upload(part))
    else:
        raise UnsupportedContentType()
    try:
        form_data = ResidentAppealForm.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if len(form_data.photos) + len(uploaded) > MAX_PHOTOS:
        raise InvalidInput(f"每条诉求最多 {MAX_PHOTOS} 张照片。", field="photos")
    referenced = [await media.lookup(media_id) for media_id in form_data.photos]
    return form_data, referenced + uploaded


@router.post(
    "/appeals",
    status_code=201,
    response_model=AppealAccepted,
    summary="File an appeal (JSON, or multipart with an `appeal` JSON part and `photos` files)",
    responses={
        200: {"description": "The same Idempotency-Key again: the first answer", "model": AppealAccepted},
        **problem_responses(
            ResidentTokenInvalid,
            InvalidInput,
            IdempotencyConflict,
            media.MediaTooLarge,
            media.UnsupportedMedia,
            UnsupportedContentType,
            ServiceUnavailable,
        ),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ResidentAppealForm.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["appeal"],
                        "properties": {
                            "appeal": {"type": "string", "description": "the form as JSON"},
                            "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                },
            },
        }
    },
)
async def file_appeal(
    request: Request,
    who: ResidentPrincipal,
    idempotency_key: Annotated[
        str | None, Header(description="unique per filing; a replay answers the same")
    ] = None,
) -> JSONResponse:
    key = _key(idempotency_key)
    form, photos = await _read_filing(request)
    attachments: list[Attachment] = [p.attachment() for p in photos]
    draft = normalise_draft(to_draft(form, who.openid, key, attachments))
    upstream = await call("intake", "POST", "/internal/appeals", json=draft)
    if upstream.status_code == 409:
        raise IdempotencyConflict()
    if upstream.status_code == 422:
        return JSONResponse(upstream.json(), status_code=422, media_type="application/problem+json")
    if upstream.status_code not in (200, 201):
        raise ServiceUnavailable()
    accepted = AppealAccepted.model_validate_json(upstream.content)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=201 if recorded_new(upstream) else 200)


@router.get(
    "/appeals",
    response_model=list[OwnAppeal],
    summary="The resident's own appeals",
    responses=problem_responses(ResidentTokenInvalid, ServiceUnavailable),
)
async def my_appeals(who: ResidentPrincipal) -> Response:
    return relay_response(
        await call("intake", "GET", "/internal/residents/appeals", params={"openid": who.openid})
    )


def _items(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        payload = payload.get("appeals", payload.get("items", []))
    return [item for item in payload if isinstance(item, dict)] if isinstance(payload, list) else []


@router.get(
    "/appeals/{ticket_no}",
    response_model=OwnAppeal,
    summary="One of the resident's appeals: status, timeline, deadlines, return visits",
    responses=problem_responses(ResidentTokenInvalid, NotFound, ServiceUnavailable),
)
async def my_appeal(ticket_no: str, who: ResidentPrincipal) -> JSONResponse:
    if not TICKET_RE.match(ticket_no):
        raise NotFound()
    mine = await call("intake", "GET", "/internal/residents/appeals", params={"openid": who.openid})
    if mine.status_code != 200:
        raise ServiceUnavailable()
    try:
        found = next((a for a in _items(json.loads(mine.content)) if a.get("ticket_no") == ticket_no), None)
    except ValueError:
        raise ServiceUnavailable() from None
    if found is None:
        raise NotFound()  # not the resident's: exactly as unknown as a wrong ticket
    return JSONResponse(found)


@router.post(
    "/appeals/{appeal_id}/evaluation",
    response_model=Moved,
    summary="Rate the result of one's own appeal (满意 / 基本满意 / 不满意)",
    responses=problem_responses(ResidentTokenInvalid, NotFound, InvalidInput, ServiceUnavailable),
)
async def rate_appeal(appeal_id: uuid.UUID, body: EvaluationIn, who: ResidentPrincipal) -> Response:
    payload = {**body.model_dump(), "by": "reporter", "openid": who.openid}
    return relay_response(
        await call("intake", "POST", f"/internal/appeals/{appeal_id}/evaluation", json=payload)
    )


@router.post(
    "/appeals/{appeal_id}/withdrawal",
    response_model=Moved,
    summary="撤回: withdraw one's own appeal before work on it starts",
    description="After work started: `409 work_started`; an ended appeal: `409 illegal_transition`; "
    "not one's own: `404`. Withdrawing again answers the same.",
    responses=problem_responses(ResidentTokenInvalid, NotFound, Conflict, InvalidInput, ServiceUnavailable),
)
async def withdraw_appeal(appeal_id: uuid.UUID, body: WithdrawalIn, who: ResidentPrincipal) -> Response:
    payload = {"openid": who.openid, "reason": body.reason}
    return relay_response(
        await call("intake", "POST", f"/internal/appeals/{appeal_id}/withdraw-by-resident", json=payload)
    )


@router.post(
    "/notices/{consultation_id}/objections",
    status_code=201,
    response_model=ObjectionReceipt,
    summary="异议: object to a plan during its public notice (公示), with the reason",
    description="Needs an `Idempotency-Key`: a replay answers `200` with the first objection, the same key "
    "with another reason is a `409`. Outside the notice period: `409 consultation_state`. The "
    "convening village or town is told; the plan goes back to consultation.",
    responses={
        200: {"description": "The same Idempotency-Key again: the first answer", "model": ObjectionReceipt},
        **problem_responses(
            ResidentTokenInvalid, NotFound, Conflict, IdempotencyConflict, InvalidInput, ServiceUnavailable
        ),
    },
)
async def object_to_notice(
    consultation_id: uuid.UUID,
    body: ResidentObjectionIn,
    who: ResidentPrincipal,
    idempotency_key: Annotated[
        str | None, Header(description="unique per objection; a replay answers the same")
    ] = None,
) -> Response:
    payload = ResidentObjectionCall(
        reason=body.reason,
        # Routing never sees the openid: a keyed hash names the resident for idempotency.
        resident_ref=lookup_hash(f"miniprogram-openid:{who.openid}"),
        idempotency_key=_key(idempotency_key),
    )
    return relay_response(
        await call(
            "routing",
            "POST",
            f"/internal/consultations/{consultation_id}/resident-objections",
            json=payload.model_dump(mode="json"),
        )
    )
