"""One error hierarchy rendered as RFC 9457 problem details (application/problem+json).

Services raise `DomainError` subclasses; never `HTTPException`. Each error carries a stable
machine `code` (English, snake_case) and a `detail` in Chinese that a resident understands.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class DomainError(Exception):
    """Base of every error a client may see."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    message: str = "请求有误，请检查后重试。"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.detail = message or self.message
        self.extra = extra
        super().__init__(self.detail)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body."""
        body: dict[str, Any] = {
            "type": f"https://guanjia.dg.gov.cn/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status, code, title, message = 404, "not_found", "Not found", "没有找到您要的记录，请核对后再试。"


class Conflict(DomainError):
    status, code, title, message = 409, "conflict", "Conflict", "该操作与当前状态冲突。"


class IdempotencyConflict(Conflict):
    code, title = "idempotency_key_reused", "Idempotency key reused with a different body"
    message = "同一请求编号已用于不同的内容，请勿重复提交。"


class IllegalTransition(Conflict):
    code, title = "illegal_transition", "Transition not allowed from the current state"

    def __init__(self, state: str, target: str) -> None:
        super().__init__(f"诉求当前状态为「{state}」，不能变更为「{target}」。", state=state, target=target)


class AppealEnded(Conflict):
    """A command on an appeal merged into another (or withdrawn, rejected): its work goes on, if
    anywhere, on the master appeal (issue 15.8)."""

    code, title = "appeal_ended", "The appeal ended without the work"
    message = "该诉求已合并到其他诉求办理（或已撤回、不予受理），不能再对它办理此操作，请在主诉求上办理。"


class Unauthorized(DomainError):
    status, code, title, message = 401, "unauthorized", "Unauthorized", "身份验证失败，请重新登录。"


class Forbidden(DomainError):
    status, code, title, message = 403, "forbidden", "Forbidden", "您无权进行此操作。"


class InvalidInput(DomainError):
    status, code, title, message = 422, "invalid_input", "Invalid input", "提交的内容不完整或格式不正确。"


class IdempotencyKeyRequired(InvalidInput):
    code, title = "idempotency_key_required", "Idempotency-Key header required"
    message = "缺少 Idempotency-Key 请求头，请为每次提交生成唯一编号。"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service_unavailable", "Service unavailable"
    message = "系统繁忙，请稍后再试。"


def problem_response(error: DomainError, request: Request | None = None) -> JSONResponse:
    """Render a domain error."""
    instance = str(request.url.path) if request is not None else None
    response = JSONResponse(error.to_problem(instance), status_code=error.status, media_type=PROBLEM_JSON)
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(loc) or None, "reason": err.get("msg"), "type": err.get("type")})
    return out


# asyncpg's errors for a server that refuses or has dropped us, seen through SQLAlchemy's wrapper.
_RETRY_SQLSTATES = frozenset(
    {
        "40P01",  # deadlock_detected
        "40001",  # serialization_failure
        "55P03",  # lock_not_available: lock_timeout (services.common.db) ended a wait
        "57014",  # query_canceled: statement_timeout ended a statement
    }
)
_UNAVAILABLE_CAUSES = frozenset(
    {
        "TooManyConnectionsError",
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
    }
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means a dependency is away (retry later), not that the request is wrong."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError | OSError):
        return True
    # No connection came free within the pool's bounded wait: nothing was sent, nothing recorded.
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if type(cause).__name__ in _UNAVAILABLE_CAUSES:
            return True
        # A deadlock victim, a serialization failure or a bounded wait that ran out: PostgreSQL
        # rolled the transaction back whole, so doing it again is safe. Never a dead letter,
        # never a 500.
        if getattr(cause, "sqlstate", None) in _RETRY_SQLSTATES:
            return True
        cause = cause.__cause__
    return False


class UnstorableText(InvalidInput):
    code, title = "unstorable_text", "Text holds a character that cannot be stored"
    message = "提交的内容含有无法识别的字符（如空字符），请删除后重试。"


# PostgreSQL's character_not_in_repertoire (a NUL, or bytes that are not UTF-8) and
# untranslatable_character: the text itself is unusable, whichever field or query it came by.
_UNSTORABLE_SQLSTATES = frozenset({"22021", "22P05"})


def is_unstorable_text(exc: BaseException) -> bool:
    """Whether PostgreSQL refused a statement for a character in the caller's text."""
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if getattr(cause, "sqlstate", None) in _UNSTORABLE_SQLSTATES:
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


class BodyTooLarge(DomainError):
    status, code, title = 413, "body_too_large", "Request body too large"
    message = "提交的内容过大，请精简后重试。"


class MalformedRequest(DomainError):
    code, title = "malformed_request", "Request body could not be parsed"
    message = "请求内容无法解析，请检查格式后重试。"


# Only FastAPI and Starlette raise HTTPException here (our code raises DomainError), always with
# an English detail: the resident reads Chinese, the integrator keeps the original as `reason`.
_FRAMEWORK_DETAIL: dict[int, str] = {
    401: Unauthorized.message,
    403: Forbidden.message,
    413: "提交的内容过大，请精简后重试。",
    415: "不支持该内容类型，请检查后重试。",
}


def _framework_reason(exc: StarletteHTTPException) -> dict[str, Any]:
    return {"reason": str(exc.detail)} if exc.detail else {}


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json: domain errors, validation, HTTP, and the unexpected."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(exc, request)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(InvalidInput(errors=_field_errors(exc)), request)

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        mapped: DomainError
        if exc.status_code == 404:
            mapped = NotFound()
        elif exc.status_code == 405:
            mapped = DomainError("不支持该请求方式。")
            mapped.status, mapped.code = 405, "method_not_allowed"
        elif exc.status_code == 413:
            # Raised by the body cap (`services.common.app.BodyLimit`) while the body is read.
            mapped = BodyTooLarge(**_framework_reason(exc))
        elif exc.status_code == 400:
            # The framework could not read the body at all (broken JSON, form or multipart).
            mapped = MalformedRequest(**_framework_reason(exc))
        else:
            mapped = DomainError(_FRAMEWORK_DETAIL.get(exc.status_code), **_framework_reason(exc))
            mapped.status, mapped.code = exc.status_code, f"http_{exc.status_code}"
        response = problem_response(mapped, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unstorable_text(exc):
            # Bad input caught by PostgreSQL, not a bug; the transaction has rolled back.
            return problem_response(UnstorableText(), request)
        if is_unavailable(exc):
            # The database or a peer is away: a retryable 503, not a server bug.
            log.warning("dependency_unavailable", path=request.url.path, error=repr(exc))
            return problem_response(ServiceUnavailable(), request)
        log.exception("unhandled_error", path=request.url.path)
        error = DomainError("系统出现异常，您的请求未被处理，请稍后再试。")
        error.status, error.code, error.title = 500, "internal_error", "Internal error"
        return problem_response(error, request)

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)


def problem_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting which problems a route may return."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        entry = out.setdefault(err.status, {"description": "", "content": {PROBLEM_JSON: {}}})
        entry["description"] = (entry["description"] + f" `{err.code}`: {err.title}.").strip()
    return out
