"""The deadlines service's own problem types: each a stable ``code`` and a Chinese ``detail``."""

from __future__ import annotations

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound


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
    message = "放假安排有误：日期须在所上传的年份之内，同一天不能既是假日又是调休上班日。"


class InvalidRules(InvalidInput):
    """A clock table that cannot be published: a clock without rules, or a row that never applies."""

    code, title = "invalid_rules", "Invalid clock table"
    message = "时限规则有误，请按提示修改后重新发布。"


class InvalidEffectiveFrom(InvalidInput):
    """A rule set may not take effect in the past, nor before the version it replaces."""

    code, title = "invalid_effective_from", "Invalid effective time"
    message = "生效时间不能早于当前时间，也不能早于现行版本的生效时间。"


class InvalidExtensionDays(InvalidInput):
    """An extension longer than the clock's own limit."""

    code, title = "invalid_extension_days", "Extension too long"
    message = "延期天数过长：单次延期不能超过该环节原定时限。"


class InvalidScope(InvalidInput):
    """A unit named by half (type without code, or code without type), or of an unknown type."""

    code, title = "invalid_scope", "Invalid unit"
    message = "请同时提供单位类型 unit_type 与单位编码 unit_code。"


class InvalidRange(InvalidInput):
    """A period whose end comes before its start, or longer than the system answers for."""

    code, title = "invalid_range", "Invalid period"
    message = "统计期间有误：结束日期不能早于开始日期，且期间不超过 366 天。"


class StaffRequired(Forbidden):
    """A command only a member of staff may give, called without one."""

    code, title = "staff_required", "A member of staff must act"
    message = "此操作须由工作人员本人办理。"


class OutOfScope(Forbidden):
    """A unit outside the caller's own (a town sees its villages and stations, the city all)."""

    code, title = "out_of_scope", "Not your unit's deadlines"
    message = "只能查阅本单位（镇街含所辖村、社区及驿站）的办理时限。"


class NotHolder(Forbidden):
    """Only the unit that holds a clock may ask to extend it."""

    code, title = "not_holder", "Only the holding unit asks for an extension"
    message = "只有承办该环节的单位才能申请延期。"


class NotApprover(Forbidden):
    """An extension is approved exactly one level above the holding unit."""

    code, title = "not_approver", "Only the level above approves"
    message = "延期须由承办单位的上一级审批，您无权审批该申请。"


class ClockNotFound(NotFound):
    code, title, message = "clock_not_found", "Clock not found", "没有找到该办理时限。"


class ExtensionNotFound(NotFound):
    code, title, message = "extension_not_found", "Extension not found", "没有找到该延期申请。"


class RuleSetNotFound(NotFound):
    code, title, message = "rule_set_not_found", "Rule set not found", "没有找到该版本的时限规则。"


class ClockNotActive(Conflict):
    """The clock was met or stopped: there is nothing left to extend."""

    code, title = "clock_not_active", "Clock no longer runs"
    message = "该环节已办结或已停止计时，不能延期。"


class ClockExpired(Conflict):
    """An extension is asked for and granted before the deadline, never after."""

    code, title = "clock_expired", "Deadline already passed"
    message = "已超过办理时限，不能再申请或批准延期。"


class ExtensionLimitReached(Conflict):
    """The clock already had every extension its rules allow."""

    code, title = "extension_limit_reached", "No extensions left"
    message = "该环节的延期次数已用完。"


class ExtensionPending(Conflict):
    """A request of this clock already waits for its decision."""

    code, title = "extension_pending", "A request is already waiting"
    message = "该环节已有延期申请待审批，请勿重复提交。"


class ExtensionDecided(Conflict):
    """The request was decided already, the other way."""

    code, title = "extension_decided", "Already decided"
    message = "该延期申请已审批，不能更改审批结果。"


class RuleVersionExists(Conflict):
    """A version number is published once; the same number with other content is refused."""

    code, title = "rule_version_exists", "Rule set version already published"
    message = "该版本号已发布且内容不同，请使用新的版本号。"


class RuleVersionConflict(Conflict):
    """The rule set was edited from a version that is no longer the newest."""

    code, title = "rule_version_conflict", "Rule set changed meanwhile"
    message = "时限规则已被他人更新，请基于最新版本重新编辑。"
