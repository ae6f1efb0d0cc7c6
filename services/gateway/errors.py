"""The gateway's own problems (RFC 9457, `services.common.errors` renders them). A channel's
refusals (a bad signature, a filer in the wrong role) stay beside the channel in `service/channels`."""

from __future__ import annotations

from services.common.errors import DomainError, Forbidden


class ReadOnly(Forbidden):
    """An auditor (审计人员) reads everything and acts on nothing (issue 15.1)."""

    code, title = "read_only", "Auditors only read"
    message = "审计人员只能查阅，不能办理业务。"


class FundsOutOfScope(Forbidden):
    """Money of a unit that is not the caller's (nor, for a town, one of its villages)."""

    code, title = "out_of_scope", "Not your unit's funds"
    message = "只能办理或查阅本单位（及所辖村、社区）的资金。"


class DeadlinesOutOfScope(Forbidden):
    """Clocks of a unit outside the caller's own."""

    code, title = "out_of_scope", "Not your unit's deadlines"
    message = "只能查阅本单位（镇街含所辖村、社区及驿站）的办理时限。"


class TooManyRequests(DomainError):
    """Over a public or login rate limit (`429` with `Retry-After`)."""

    status, code, title = 429, "rate_limited", "Too many requests"
    message = "请求过于频繁，请稍后再试。"


class UnsupportedContentType(DomainError):
    """A filing in neither JSON nor multipart/form-data."""

    status, code, title = 415, "unsupported_content_type", "Send JSON or multipart/form-data"
    message = "请以 JSON 或 multipart/form-data 格式提交。"


class FilingTooLarge(DomainError):
    """A filing over its size cap."""

    status, code, title = 413, "body_too_large", "Request body too large"
    message = "提交的内容过大。"
