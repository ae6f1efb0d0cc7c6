"""民生大莞家 mini-program: resident login through WeChat, resident tokens, the appeal form.

Login: the mini-program's `wx.login` code is exchanged at WeChat (`code2session`) for the
resident's openid; we answer with our own short-lived bearer token (`sub` = openid, audience
`guanjia-resident`, never accepted where a staff token is wanted). WeChat's `session_key`
is not kept and never leaves the gateway.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any, Final

import jwt
import structlog
from fastapi import Depends, Header
from pydantic import BaseModel

from services.common.errors import DomainError, ServiceUnavailable, Unauthorized
from services.common.settings import get_settings
from services.contracts.appeals import AppealDraft, Attachment, Location, Reporter
from services.contracts.channel_bodies import MAX_PHOTOS as MAX_PHOTOS
from services.contracts.channel_bodies import ResidentAppealForm as ResidentAppealForm
from services.gateway.service.channels.wechat_api import WeChatApiError, WeChatUnavailable, code2session

log = structlog.get_logger(__name__)
CHANNEL: Final = "wechat_miniprogram"
RESIDENT_AUDIENCE: Final = "guanjia-resident"
RESIDENT_TOKEN_TTL_S: Final = 3600


# --- problems ------------------------------------------------------------------------------------


class LoginCodeInvalid(Unauthorized):
    code, title = "wechat_code_invalid", "The wx.login code is invalid, expired or used"
    message = "登录凭证无效或已过期，请重新打开小程序登录。"


class LoginRateLimited(DomainError):
    status, code, title = 429, "wechat_rate_limited", "WeChat's login quota is exhausted for now"
    message = "登录请求过于频繁，请稍后再试。"


class WeChatBusy(ServiceUnavailable):
    code, title = "wechat_busy", "WeChat is busy or unreachable"
    message = "微信服务繁忙，请稍后再试。"


class LoginUnavailable(ServiceUnavailable):
    code, title = "login_unavailable", "Mini-program login is not configured or was refused by WeChat"
    message = "小程序登录暂不可用，请稍后再试。"


class ResidentTokenInvalid(Unauthorized):
    code, title = "resident_token_invalid", "Resident token missing, wrong or expired"
    message = "登录已失效，请重新打开小程序。"


# --- login ---------------------------------------------------------------------------------------

# WeChat's error codes of code2session, and what each means for the resident.
_CODE_ERRORS: Final[dict[int, str]] = {
    40029: "登录凭证无效或已过期，请重新打开小程序登录。",
    40163: "登录凭证已被使用，请重新打开小程序登录。",
    40226: "账号存在风险，暂时无法登录，请稍后再试。",
}


async def login(js_code: str) -> str:
    """The openid behind a `wx.login` code; WeChat's refusals as our problems."""
    settings = get_settings()
    if not settings.miniprogram_app_id or not settings.miniprogram_secret:
        raise LoginUnavailable()
    try:
        session = await code2session(settings.miniprogram_app_id, settings.miniprogram_secret, js_code)
    except WeChatApiError as exc:
        log.info("code2session_refused", errcode=exc.errcode)
        if exc.errcode in _CODE_ERRORS:
            raise LoginCodeInvalid(_CODE_ERRORS[exc.errcode], errcode=exc.errcode) from None
        if exc.errcode == 45011:
            raise LoginRateLimited(errcode=exc.errcode, retry_after=60) from None
        if exc.errcode == -1:
            raise WeChatBusy(errcode=exc.errcode, retry_after=5) from None
        # 40013 / 40125 / 41002…: our own AppID or AppSecret is wrong.
        log.error("code2session_misconfigured", errcode=exc.errcode, errmsg=exc.errmsg)
        raise LoginUnavailable(errcode=exc.errcode) from None
    except WeChatUnavailable as exc:
        log.warning("code2session_unavailable", error=str(exc))
        raise WeChatBusy(retry_after=5) from None
    # session_key stays here: nothing of it is stored or returned.
    return str(session["openid"])


def mint_resident_token(openid: str) -> tuple[str, int]:
    """Our bearer token for a resident, and its lifetime in seconds."""
    now = int(time.time())
    claims = {"sub": openid, "aud": RESIDENT_AUDIENCE, "iat": now, "exp": now + RESIDENT_TOKEN_TTL_S}
    return jwt.encode(claims, get_settings().require("token_secret"), algorithm="HS256"), RESIDENT_TOKEN_TTL_S


class Resident(BaseModel):
    """A resident as their token says."""

    openid: str


def verify_resident_token(token: str) -> Resident:
    """Check a resident token; any defect (a staff token included) is a 401."""
    try:
        claims = jwt.decode(
            token,
            get_settings().require("token_secret"),
            algorithms=["HS256"],
            audience=RESIDENT_AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.PyJWTError:
        raise ResidentTokenInvalid() from None
    return Resident(openid=str(claims["sub"]))


async def resident(authorization: Annotated[str | None, Header()] = None) -> Resident:
    """FastAPI dependency for the mini-program's routes."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ResidentTokenInvalid()
    return verify_resident_token(authorization[7:].strip())


ResidentPrincipal = Annotated[Resident, Depends(resident)]


# --- the appeal form -----------------------------------------------------------------------------


def channel_ref(openid: str, key: str) -> str:
    """The appeal's idempotency key: the client's key, scoped to the resident."""
    ref = f"{openid}:{key}"
    return ref if len(ref) <= 128 else "h:" + hashlib.sha256(ref.encode()).hexdigest()


def to_draft(form: ResidentAppealForm, openid: str, key: str, photos: list[Attachment]) -> AppealDraft:
    """The form as an appeal draft (normalised afterwards, like every channel's)."""
    extra: dict[str, Any] = {"photo_count": len(photos)}
    return AppealDraft(
        channel=CHANNEL,
        channel_ref=channel_ref(openid, key),
        reporter=Reporter(
            name=None if form.anonymous else form.name,
            phone=form.phone,
            openid=openid,
            hukou_local=form.hukou_local,
            anonymous=form.anonymous,
            confidential=form.confidential,
            role="resident",
        ),
        title=form.title,
        description=form.description,
        location=Location(
            address=form.address,
            town_code=form.town_code,
            village_code=form.village_code,
            lat=form.lat,
            lng=form.lng,
            datum=form.datum,
        ),
        attachments=photos,
        beneficiary_count=form.beneficiary_count,
        beneficiary_group=form.beneficiary_group,
        help_requested=form.help_requested,
        estimated_amount_fen=form.estimated_amount_fen,
        urgency=form.urgency,
        category_hint=form.category_hint,
        channel_extra=extra,
    )
