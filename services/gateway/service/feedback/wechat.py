"""WeChat's message APIs: mini-program subscribe messages and official-account customer service.

    GET  {base}/cgi-bin/token?grant_type=client_credential&appid=APPID&secret=SECRET
         → {"access_token": "...", "expires_in": 7200} | {"errcode": 40013, "errmsg": "..."}
    POST {base}/cgi-bin/message/subscribe/send?access_token=TOKEN   (mini-program)
    POST {base}/cgi-bin/message/custom/send?access_token=TOKEN      (official account)
         → {"errcode": 0, "errmsg": "ok", ...}

Access tokens are cached in Redis until shortly before they expire; a token WeChat calls invalid
(40001, 40014, 42001) is dropped and fetched again once. Neither message API is idempotent, so
an answer that never came (a read timeout) is `unknown` and is not sent again: a resident may
miss one message, but never receives one twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx
import structlog
from redis.asyncio import Redis

from services.common.settings import get_settings
from services.gateway.service.feedback.outcome import Outcome, Result

log = structlog.get_logger(__name__)

TOKEN_INVALID: Final = frozenset({40001, 40014, 42001})
REFUSED: Final = 43101  # the user did not subscribe, or refused, to this template
WINDOW_CLOSED: Final = frozenset({45015, 45047})  # past 48 h / too many messages since
TRANSIENT: Final = frozenset({-1, 45009, 45011})  # system busy, rate limits
TOKEN_MARGIN_S: Final = 300


@dataclass(frozen=True)
class WechatApp:
    """An AppID and its AppSecret."""

    app_id: str
    secret: str


def token_key(app_id: str) -> str:
    """Where an app's access token is cached."""
    return f"{get_settings().queue_prefix}:wechat-token:{app_id}"


async def access_token(
    redis: Redis, base: str, app: WechatApp, *, timeout_s: float, refresh: bool = False
) -> str | Outcome:
    """A valid access token, from the cache or from WeChat; an Outcome when there is none."""
    key = token_key(app.app_id)
    if not refresh and (cached := await redis.get(key)):
        return cached.decode() if isinstance(cached, bytes) else str(cached)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(
                f"{base}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": app.app_id, "secret": app.secret},
            )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Outcome("retry", detail=f"token: {type(exc).__name__}")
    if not isinstance(body, dict) or not body.get("access_token"):
        errcode = int(body.get("errcode", -1)) if isinstance(body, dict) else -1
        result: Result = "retry" if errcode in TRANSIENT or response.status_code >= 500 else "failed"
        detail = str(body.get("errmsg", "")) if isinstance(body, dict) else ""
        log.warning("wechat_token_failed", app_id=app.app_id, errcode=errcode)
        return Outcome(result, http_status=response.status_code, errcode=errcode, detail=f"token: {detail}")
    token = str(body["access_token"])
    ttl = max(60, int(body.get("expires_in", 7200)) - TOKEN_MARGIN_S)
    await redis.set(key, token, ex=ttl)
    return token


async def post_message(
    redis: Redis, base: str, app: WechatApp, path: str, payload: dict[str, Any], *, timeout_s: float
) -> Outcome:
    """Send one message; refresh an invalid token once."""
    for refresh in (False, True):
        token = await access_token(redis, base, app, timeout_s=timeout_s, refresh=refresh)
        if isinstance(token, Outcome):
            return token
        try:
            async with httpx.AsyncClient(timeout=timeout_s) as client:
                response = await client.post(f"{base}{path}", params={"access_token": token}, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return Outcome("retry", detail=f"never reached WeChat: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return Outcome("unknown", detail=f"no answer from WeChat: {type(exc).__name__}")
        if response.status_code >= 500:
            return Outcome("retry", http_status=response.status_code)
        outcome = _classify(response)
        if outcome.errcode in TOKEN_INVALID and not refresh:
            continue
        return outcome
    return Outcome("retry", detail="access token refused twice")


def _classify(response: httpx.Response) -> Outcome:
    try:
        body = response.json()
    except ValueError:
        return Outcome("unknown", http_status=response.status_code, detail="answer is not JSON")
    errcode = int(body.get("errcode", 0)) if isinstance(body, dict) else -1
    detail = str(body.get("errmsg", "")) if isinstance(body, dict) else ""
    status = response.status_code
    if errcode == 0:
        return Outcome("delivered", http_status=status, errcode=0, detail=str(body.get("msgid", "")))
    if errcode == REFUSED:
        return Outcome("refused", http_status=status, errcode=errcode, detail=detail)
    if errcode in WINDOW_CLOSED:
        return Outcome("window_closed", http_status=status, errcode=errcode, detail=detail)
    if errcode in TRANSIENT or errcode in TOKEN_INVALID:
        return Outcome("retry", http_status=status, errcode=errcode, detail=detail)
    return Outcome("failed", http_status=status, errcode=errcode, detail=detail)


async def send_subscribe(
    redis: Redis,
    base: str,
    app: WechatApp,
    *,
    openid: str,
    template_id: str,
    page: str,
    state: str,
    data: dict[str, Any],
    timeout_s: float,
) -> Outcome:
    """A mini-program subscribe message (订阅消息)."""
    payload = {
        "touser": openid,
        "template_id": template_id,
        "page": page,
        "data": data,
        "miniprogram_state": state,
        "lang": "zh_CN",
    }
    return await post_message(
        redis, base, app, "/cgi-bin/message/subscribe/send", payload, timeout_s=timeout_s
    )


async def send_custom_text(
    redis: Redis, base: str, app: WechatApp, *, openid: str, content: str, timeout_s: float
) -> Outcome:
    """An official-account customer-service text message (客服消息)."""
    payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
    return await post_message(redis, base, app, "/cgi-bin/message/custom/send", payload, timeout_s=timeout_s)
