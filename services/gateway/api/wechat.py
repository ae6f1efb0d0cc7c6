"""`GET` and `POST /api/v1/channels/wechat-official`: the 莞家政务 official account (DESIGN §10).

WeChat's own protocol rules the successful answers: the echostr as plain text, a passive reply
as XML (encrypted in safe mode), or the plain text `success` when there is nothing to say.
Refusals (bad signature, stale timestamp, reused nonce, hostile XML) are RFC 9457 problems.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from services.common.errors import problem_responses
from services.common.settings import get_settings
from services.gateway.service.channels.wechat_crypto import MessageCrypto
from services.gateway.service.channels.wechat_inbox import answer, check_nonce
from services.gateway.service.channels.wechat_official import (
    MAX_BODY,
    BadSignature,
    BodyTooLarge,
    HostileXml,
    MalformedMessage,
    NonceReused,
    NotConfigured,
    StaleTimestamp,
    WeChatPush,
    check_timestamp,
    encrypted_reply_xml,
    open_envelope,
    parse_xml,
    text_reply_xml,
    verify_query,
)

router = APIRouter(prefix="/api/v1/channels", tags=["wechat official account"])
log = structlog.get_logger(__name__)
XML: Final = "application/xml; charset=utf-8"
Param = Annotated[str | None, Query(max_length=128)]


def _config() -> tuple[str, MessageCrypto | None]:
    settings = get_settings()
    if not settings.wechat_token:
        raise NotConfigured()
    crypto = None
    if settings.wechat_aes_key and settings.wechat_app_id:
        try:
            crypto = MessageCrypto.create(
                settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id
            )
        except ValueError:
            log.error("wechat_aes_key_invalid")
    return settings.wechat_token, crypto


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


@router.get(
    "/wechat-official",
    response_class=PlainTextResponse,
    summary="WeChat's server verification: echo `echostr` when the signature is ours",
    responses={
        200: {"content": {"text/plain": {}}, "description": "The echostr, verbatim"},
        **problem_responses(BadSignature, StaleTimestamp, MalformedMessage, NotConfigured),
    },
)
async def wechat_verify(
    signature: Param = None, timestamp: Param = None, nonce: Param = None, echostr: Param = None
) -> PlainTextResponse:
    token, _ = _config()
    verify_query(token, signature, timestamp, nonce, now=time.time())
    if not echostr:
        raise MalformedMessage("缺少 echostr 参数。")
    return PlainTextResponse(echostr)


@router.post(
    "/wechat-official",
    summary="A message or event pushed by WeChat (plain or safe mode); answered with a passive reply",
    response_class=Response,
    responses={
        200: {
            "description": "A passive reply (XML; encrypted in safe mode), or `success`",
            "content": {"application/xml": {}, "text/plain": {}},
        },
        **problem_responses(
            BadSignature, NonceReused, HostileXml, MalformedMessage, BodyTooLarge, NotConfigured
        ),
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}
    },
)
async def wechat_push(
    request: Request,
    signature: Param = None,
    timestamp: Param = None,
    nonce: Param = None,
    encrypt_type: Param = None,
    msg_signature: Param = None,
) -> Response:
    deadline = asyncio.get_running_loop().time() + get_settings().wechat_reply_budget_s
    token, crypto = _config()
    body = await _read_capped(request)
    safe = (encrypt_type or "raw").lower() == "aes"
    now = time.time()
    if not timestamp or not nonce:
        raise BadSignature()
    if safe:
        # msg_signature covers the ciphertext too; `signature`, when sent, must also hold.
        if signature is not None:
            verify_query(token, signature, timestamp, nonce, now)
        check_timestamp(timestamp, now)
        if crypto is None:
            raise NotConfigured("公众号安全模式尚未配置。")
        fields = parse_xml(open_envelope(crypto, parse_xml(body), msg_signature, timestamp, nonce))
    else:
        verify_query(token, signature, timestamp, nonce, now)
        fields = parse_xml(body)
    push = WeChatPush.from_fields(fields)
    await check_nonce(timestamp, nonce, body)
    reply = await answer(push, safe=safe, deadline=deadline)
    if not reply:
        return PlainTextResponse("success")
    xml = text_reply_xml(push.from_user, push.to_user, reply)
    if safe and crypto is not None:
        xml = encrypted_reply_xml(crypto, xml, str(int(time.time())), secrets.token_hex(8))
    return Response(content=xml, media_type=XML)
