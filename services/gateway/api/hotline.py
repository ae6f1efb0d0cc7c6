"""POST /api/v1/channels/hotline-12345/calls (DESIGN §10)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Annotated, Any

import orjson
import structlog
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.common.errors import (
    IdempotencyConflict,
    InvalidInput,
    ServiceUnavailable,
    UnstorableText,
    is_unavailable,
    problem_responses,
)
from services.common.settings import get_settings
from services.contracts.appeals import AppealAccepted
from services.gateway.service.channels.hotline import (
    CHANNEL,
    BadSignature,
    HotlineCall,
    to_draft,
    verify_signature,
)
from services.gateway.service.client import call, recorded_new
from services.gateway.service.inbound import keep_answer, remember
from services.gateway.service.normalise import redact

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
log = structlog.get_logger(__name__)


class _Answer(JSONResponse):
    """The caller's answer, serialised by orjson (a tenth of json's time: bench/native_text.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _answer(body: Any, status: int) -> JSONResponse:
    return _Answer(body, status_code=status)


def validation_problem(exc: ValidationError) -> InvalidInput:
    """A pydantic error as our 422 problem."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or None, "reason": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return InvalidInput(errors=errors)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_unstorable(payload: Any) -> bool:
    """Whether a string anywhere in the parsed body holds a NUL or a lone surrogate: PostgreSQL
    stores neither, nor can UTF-8 encode a surrogate, so a caller must learn it now, not by a 5xx.
    Iterative: a body nested nearly as deep as the parser allows must not overflow the stack here."""
    todo = [payload]
    while todo:
        node = todo.pop()
        if isinstance(node, str):
            if "\x00" in node or any("\ud800" <= c <= "\udfff" for c in node):
                return True
        elif isinstance(node, dict):
            todo.extend(node.keys())
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return False


def parse_body(raw: bytes) -> Any:
    """The body as JSON, strictly: no NaN or Infinity (not JSON, and no field takes them), no
    nesting past Python's recursion limit, no text that cannot be stored; each a 422 problem."""
    try:
        payload = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # syntax, bad UTF-8, NaN; or too deep to parse
        raise InvalidInput("请求内容不是有效的 JSON。") from None
    if _has_unstorable(payload):
        raise UnstorableText()
    return payload


def canonical_hash(payload: Any) -> str:
    """Hash of the parsed body, so a re-sent call with other whitespace still matches."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def self_contained_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema with its nested models inlined. Pydantic puts them under `$defs`,
    which an OpenAPI document cannot reach by `#/components/schemas/...` (the body is declared
    here, not inferred by FastAPI, so nothing else registers them): clients' generators and
    schemathesis would see a dangling reference."""
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    out: dict[str, Any] = inline(schema)
    return out


@router.post(
    "/hotline-12345/calls",
    status_code=202,
    response_model=AppealAccepted,
    summary="A transcribed 12345 call (signed webhook)",
    responses={
        200: {"description": "The same call_id again: the first answer", "model": AppealAccepted},
        **problem_responses(BadSignature, InvalidInput, IdempotencyConflict, ServiceUnavailable),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": self_contained_schema(HotlineCall)}},
        }
    },
)
async def hotline_call(
    request: Request,
    x_signature_timestamp: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    settings = get_settings()
    raw = await request.body()
    verify_signature(
        settings.require("hotline_secret"),
        x_signature_timestamp,
        x_signature,
        raw,
        now=time.time(),
        window_s=settings.hotline_window_s,
    )
    payload = parse_body(raw)
    try:
        hotline = HotlineCall.model_validate(payload)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    # The raw message, extras included, is what we keep and compare on a replay.
    digest = canonical_hash(payload)

    # No look at the gateway's own record first: intake answers a replay with the first answer
    # (or 409 for other words), and the record below catches a replay whose other body made the
    # same draft. A new call, nearly every call, then costs the gateway one statement, not two.
    try:
        draft = to_draft(hotline)
    except ValidationError as exc:  # what the call became breaks an appeal's own limits
        raise validation_problem(exc) from None
    upstream = await call("intake", "POST", "/internal/appeals", json=draft)
    if upstream.status_code == 409:
        raise IdempotencyConflict()
    if upstream.status_code == 422:
        # Intake refused the words (its own checks): the caller's to fix, and a retry loops forever.
        raise InvalidInput()
    if upstream.status_code not in (200, 201):
        raise ServiceUnavailable()
    accepted = AppealAccepted.model_validate_json(upstream.content)
    body = accepted.model_dump(mode="json")
    try:
        # Kept for audit with the caller's number masked: it is encrypted at rest in intake.
        kept = (CHANNEL, hotline.call_id, digest, redact(payload), accepted.appeal_id, body)
        if recorded_new(upstream):
            # The delivery intake recorded is the first one, whichever of its concurrent replays
            # kept the answer first.
            await remember(*kept)
        elif (first := await keep_answer(*kept)) is not None:
            return _answer(first, 200)  # a replay: the first answer, or 409 for other words
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # Intake has recorded the call: a 503 now would tell the hotline it was not. The kept
        # row is only the fast replay; a replay without it reaches intake, which answers the same.
        log.warning("hotline_inbound_not_kept", call_id=hotline.call_id, error=repr(exc))
    # A call intake recorded on the gateway's own re-send (the first answer lost) is still new.
    return _answer(body, 202 if recorded_new(upstream) else 200)
