"""Staff commands on an appeal's lifecycle (DESIGN §4), each checked for scope, role and state.

Order of the checks, so that nothing leaks: outside one's scope the appeal does not exist (404);
a read-only role or a role without the command is refused (403 `forbidden` / `wrong_role`); an
illegal move is a 409 naming the state; a missing reason is a 422.

| command | moves | roles (and scope) |
| --- | --- | --- |
| hold / resume | any holdable state ⇄ on_hold | handling units, town, city |
| withdraw | → withdrawn | handling units, town, city (at the resident's request); the resident |
| reject | → rejected (reason told to the resident) | town, city |
| triage (manual) | received / returned → triaged | town, city |
| consult / approve | triaged → consulting → approved | village, town, city |
| start | approved / reopened → in_progress | handling units, town, city |
| complete | in_progress → completed | handling units, town, city |
| close | completed → closed, with the return visit | village, town, city |
| reopen | completed → reopened (round + 1) | town, city |
| send-back / sign-off | → returned / in_progress | routing's commands (`/internal/assignments/...`) |
| merge / undo | → merged ⇄ back | village, town, city (duplicates commands) |
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import UseCommand, WrongRole
from intake.models import Appeal, Reporter
from intake.service import access
from intake.service.lifecycle import Status, can_move
from intake.service.moves import transition
from services.common.auth import Principal
from services.common.errors import AppealEnded, Forbidden, IllegalTransition, InvalidInput, NotFound

NEEDS_REASON: frozenset[str] = frozenset({"on_hold", "withdrawn", "rejected", "reopened"})


def actor_of(principal: Principal) -> str:
    """How a member of staff appears on the timeline."""
    return f"staff:{principal.username}"


def authorise(
    principal: Principal, appeal: Appeal, target: str | None = None, command: str | None = None
) -> None:
    """Scope (404), then read-only (403), then the role for the move or command (403)."""
    if not access.can_see(principal, appeal):
        raise NotFound()  # never confirm that an appeal outside one's scope exists
    if command is not None and command in access.COMMAND_ROLES:
        if not access.may(principal, command):
            raise WrongRole()
        return
    if not access.can_act(principal, appeal):
        raise Forbidden()
    if target is not None and not access.may_move(principal, target):
        raise WrongRole()


def _reason(target: str, reason: str | None) -> str | None:
    text = (reason or "").strip()
    if target in NEEDS_REASON and len(text) < 2:
        raise InvalidInput("请填写理由（至少2个字）。", field="reason")
    return text or None


async def move(
    session: AsyncSession,
    appeal: Appeal,
    principal: Principal,
    target: Status,
    reason: str | None,
    *,
    description: str | None = None,
) -> Appeal:
    """A staff move to `target`, after every check."""
    if not access.can_see(principal, appeal):
        raise NotFound()
    if target == "closed":
        raise UseCommand("closed", "POST /appeals/{id}/close（回访结果与评价）")
    if target == "merged":
        raise UseCommand("merged", "POST /appeals/{id}/duplicates/{master_id}/confirm")
    if target == "returned":
        raise UseCommand("returned", "POST /internal/assignments/{id}/return（分拣派单服务的退单）")
    authorise(principal, appeal, target)
    if appeal.status == "merged":
        # Said plainly (issue 15.8): its work goes on, if anywhere, on the master appeal.
        raise AppealEnded(state="merged", target=target)
    if not can_move(appeal.status, target, appeal.held_from):  # type: ignore[arg-type]
        raise IllegalTransition(appeal.status, target)
    why = _reason(target, reason)
    if target == "rejected" and why:
        description = description or f"不予受理：{why}"
    await transition(session, appeal, target, actor=actor_of(principal), reason=why, description=description)
    return appeal


async def resume(session: AsyncSession, appeal: Appeal, principal: Principal, reason: str | None) -> Appeal:
    """Back to where the appeal was held from."""
    if appeal.status != "on_hold" or appeal.held_from is None:
        authorise(principal, appeal, "on_hold")
        raise IllegalTransition(appeal.status, "resume")
    return await move(session, appeal, principal, appeal.held_from, reason)  # type: ignore[arg-type]


async def resident_owns(
    session: AsyncSession, appeal: Appeal, openid: str | None, phone_hash: str | None
) -> bool:
    """Whether the resident (by openid or phone lookup hash) is a reporter of the appeal."""
    conds = []
    if openid:
        conds.append(Reporter.openid == openid)
    if phone_hash:
        conds.append(Reporter.phone_hash == phone_hash)
    if not conds:
        return False
    found = await session.scalar(
        select(Reporter.id).where(Reporter.appeal_id == appeal.id, or_(*conds)).limit(1)
    )
    return found is not None


async def withdraw_by_resident(
    session: AsyncSession,
    appeal: Appeal,
    *,
    openid: str | None,
    phone_hash: str | None,
    reason: str | None,
    caller: str,
) -> Appeal:
    """撤回 by the resident themselves (through the gateway, which vouches for who they are)."""
    if not await resident_owns(session, appeal, openid, phone_hash):
        raise NotFound()
    await transition(
        session,
        appeal,
        "withdrawn",
        actor=f"resident:{caller}",
        reason=(reason or "").strip() or "群众本人撤回",
        description="群众已撤回诉求",
    )
    return appeal
