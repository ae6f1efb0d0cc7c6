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
| start | approved / reopened → in_progress (a hop routing made starts with its sign-off) | handling units, town, city |
| complete | in_progress → completed | handling units, town, city |
| close | completed → closed, with the return visit | village, town, city |
| reopen | completed → reopened (round + 1) | town, city |
| send-back / sign-off | → returned / in_progress | routing's commands (`/internal/assignments/...`) |
| merge / undo | → merged ⇄ back | village, town, city (duplicates commands) |
"""

from __future__ import annotations

import hmac

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import NotSignedOff, UseCommand, WorkStarted, WrongRole
from intake.models import Appeal, Reporter, TimelineEntry
from intake.service import access
from intake.service.lifecycle import TERMINAL, Status, can_move, resident_may_withdraw
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
    if target == "in_progress" and appeal.status == "approved" and await awaits_sign_off(session, appeal):
        raise NotSignedOff()
    why = _reason(target, reason)
    if target == "rejected" and why:
        description = description or f"不予受理：{why}"
    await transition(session, appeal, target, actor=actor_of(principal), reason=why, description=description)
    return appeal


async def awaits_sign_off(session: AsyncSession, appeal: Appeal) -> bool:
    """Whether the work waits for the holding unit's sign-off (签收), not for a `start`.

    An appeal that routing handed to a unit (its move to approved came from routing's events)
    starts when that unit signs off: routing's `appeal.signed_off` moves it to in_progress, so
    the timeline says 签收 before any work. A `start` before it would let a unit work on what it
    never acknowledged (issue 16.7). Appeals approved by staff themselves start with `start`.
    """
    actor = await session.scalar(
        select(TimelineEntry.actor)
        .where(
            TimelineEntry.appeal_id == appeal.id,
            TimelineEntry.to_status == "approved",
            TimelineEntry.from_status != "on_hold",  # a resume is not how it was approved
            TimelineEntry.round == appeal.round,
        )
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc())
        .limit(1)
    )
    return actor is not None and actor.startswith("service:routing")


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
    return await _withdraw_own(session, appeal, reason=reason, actor=f"resident:{caller}")


async def withdraw_by_code(
    session: AsyncSession, appeal: Appeal, *, code: str, reason: str | None, caller: str
) -> Appeal:
    """撤回 by whoever holds the appeal's query code (查询码): a caller without WeChat. A wrong code
    is exactly as unknown as a wrong ticket."""
    if not hmac.compare_digest(appeal.query_code.encode(), code.encode()):
        raise NotFound()
    return await _withdraw_own(session, appeal, reason=reason, actor=f"resident:{caller}:query_code")


async def _withdraw_own(session: AsyncSession, appeal: Appeal, *, reason: str | None, actor: str) -> Appeal:
    """Before work starts only (after: `409 work_started`); withdrawing again answers the same."""
    if appeal.status == "withdrawn":
        return appeal  # a replay of the resident's own withdrawal
    if appeal.status in TERMINAL:
        raise IllegalTransition(appeal.status, "withdrawn")
    if not resident_may_withdraw(appeal.status, appeal.held_from):  # type: ignore[arg-type]
        raise WorkStarted(appeal.status)
    await transition(
        session,
        appeal,
        "withdrawn",
        actor=actor,
        reason=(reason or "").strip() or "群众本人撤回",
        description="群众已撤回诉求",
    )
    return appeal
