"""The deadlines service's own problem types: each a stable ``code`` and a Chinese ``detail``."""

from __future__ import annotations

from services.common.errors import InvalidInput


class InvalidStart(InvalidInput):
    """The start of a period is missing, malformed or outside the supported years."""

    code, title = "invalid_start", "Invalid start of period"
    message = "起算时间格式不正确，请使用 ISO 日期（如 2025-09-30）或带时区的日期时间。"


class InvalidPeriod(InvalidInput):
    """The length of a period is missing, given twice, not a whole number or out of range."""

    code, title = "invalid_period", "Invalid length of period"
    message = "请只填写 working_days 或 months 其中一项，且为不小于 1 的整数。"


class InvalidYear(InvalidInput):
    """A calendar year outside the range the system keeps."""

    code, title = "invalid_year", "Invalid calendar year"
    message = "年份超出系统支持的范围（2000–2099）。"


class InvalidSchedule(InvalidInput):
    """An uploaded holiday schedule that contradicts itself or strays from its year."""

    code, title = "invalid_schedule", "Invalid holiday schedule"
    message = "放假安排有误：同一天不能既是假日又是调休上班日，且日期须在该年份前后一年之内。"
