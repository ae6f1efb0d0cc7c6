"""The mini-program login call to WeChat's HTTP API at `GUANJIA_WECHAT_API_BASE`.

    GET {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
        → {"openid", "session_key", "unionid"?} | {"errcode": 40029, "errmsg": "invalid code"}

WeChat answers HTTP 200 (labelled text/plain) even for errors; a non-zero `errcode` becomes a
`WeChatApiError` carrying it, and the caller maps it to what it tells its own client. A
transport failure or an answer outside the protocol is `WeChatUnavailable`. (Customer-service
and subscribe messages live in `services.gateway.service.feedback.wechat`.)
"""

from __future__ import annotations

import json
from typing import Any, Final

import httpx

from services.common.settings import get_settings

TIMEOUT: Final = httpx.Timeout(5.0, connect=2.0)


class WeChatApiError(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(Exception):
    """WeChat could not be reached or answered something that is not its protocol."""


async def code2session(app_id: str, secret: str, js_code: str) -> dict[str, Any]:
    """The openid (and session_key) behind a mini-program login code (`wx.login`)."""
    base = get_settings().wechat_api_base.rstrip("/")
    params = {"appid": app_id, "secret": secret, "js_code": js_code, "grant_type": "authorization_code"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            response = await client.get("/sns/jscode2session", params=params)
    except httpx.HTTPError as exc:
        raise WeChatUnavailable(type(exc).__name__) from exc
    if response.status_code != 200:
        raise WeChatUnavailable(f"HTTP {response.status_code}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise WeChatUnavailable("answer is not JSON") from exc
    if not isinstance(body, dict):
        raise WeChatUnavailable("answer is not a JSON object")
    errcode = body.get("errcode", 0)
    if errcode not in (0, None):
        try:
            code = int(errcode)
        except (TypeError, ValueError):
            raise WeChatUnavailable("errcode is not a number") from None
        raise WeChatApiError(code, str(body.get("errmsg", "")))
    if not isinstance(body.get("openid"), str) or not body["openid"]:
        raise WeChatUnavailable("no openid in the answer")
    return body
