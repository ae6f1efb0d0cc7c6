"""Intake's own errors (RFC 9457 problems with a stable `code`), beside the kernel's shared ones.

Services raise these; routes document them with `problem_responses(...)`.
"""

from __future__ import annotations

from services.common.errors import Conflict, DomainError, Forbidden


class AlreadyEvaluated(Conflict):
    code, title = "already_evaluated", "This round has already been rated"
    message = "本轮办理已经评价过，不能重复评价。"


class NotAwaitingEvaluation(Conflict):
    code, title = "not_awaiting_evaluation", "The appeal is not waiting for a return visit"

    def __init__(self, state: str, round_no: int | None = None) -> None:
        super().__init__(f"诉求当前状态为「{state}」，暂不能评价。", state=state, round=round_no)


class NotSignedOff(Conflict):
    code, title = "not_signed_off", "The holding unit has not signed the appeal off yet"
    message = "承办单位尚未签收该诉求，请先签收，签收后即开始办理。"


class WrongRole(Forbidden):
    code, title = "wrong_role", "The role does not carry this command"
    message = "您的岗位无权进行此项操作。"


class UseCommand(DomainError):
    status, code, title = 422, "use_dedicated_command", "This move has its own command"

    def __init__(self, target: str, command: str) -> None:
        super().__init__(f"变更为「{target}」须通过「{command}」办理。", target=target, command=command)


class NotFinished(Conflict):
    code, title = "not_finished", "Only a finished appeal is archived"

    def __init__(self, state: str) -> None:
        super().__init__(f"诉求当前状态为「{state}」，办结后才能归档导出。", state=state)


class WorkStarted(Conflict):
    code, title = "work_started", "Work on the appeal has started"

    def __init__(self, state: str) -> None:
        super().__init__(
            f"诉求当前状态为「{state}」，承办单位已开始办理，不能自行撤回；如需撤回请联系承办单位。",
            state=state,
        )


class AppealFinished(Conflict):
    code, title = "appeal_finished", "The appeal is finished: nothing more is added to it"

    def __init__(self, state: str) -> None:
        super().__init__(f"诉求当前状态为「{state}」，不能再补充材料。", state=state)
