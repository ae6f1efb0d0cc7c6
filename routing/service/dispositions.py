"""Dispositions (交办): hops, sign-off (签收), send-back (退单), reassignment. Every hop is an event.

Events keep the data deadlines and intake read: ``appeal.assigned`` (a hop starts: sign-off and
handling clocks), ``appeal.signed_off`` (that hop's sign-off clock is met), ``appeal.returned``
(that hop's clocks stop, charged to its unit; intake sends the appeal back to triage). A
reassignment by the town or the city is a ``returned`` with reason code ``reassigned``, followed by
the new ``triaged`` and ``assigned``, so that clocks and the public status follow the same path.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.config import RoutingSettings
from routing.errors import SendBackRefused
from routing.models import Assignment, ManualTriageItem, TriageResult
from routing.service import catalogue, facts
from routing.service.common import publish
from routing.service.dispatch import SEND_BACK_REASONS, Holder, may_send_back
from services.common import scope
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.messaging import utcnow
from services.common.settings import get_settings
from services.contracts.events import (
    HANDOVER_REASON,
    AppealAssigned,
    AppealReturned,
    AppealSignedOff,
    make_event,
)

ACTIVE = ("assigned", "signed_off")
REASSIGNED = HANDOVER_REASON  # a hand-over by the town or the city, not a send-back


async def hops(session: AsyncSession, appeal_id: uuid.UUID) -> list[Assignment]:
    """Every hop of an appeal, first to last."""
    rows = await session.scalars(
        select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop)
    )
    return list(rows.all())


async def current_assignment(
    session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False
) -> Assignment:
    """The latest hop of an appeal; locked (for a command), refused when the appeal ended."""
    if lock:
        await facts.ensure_open(session, appeal_id)
    stmt = (
        select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop.desc()).limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise NotFound()
    return found


async def latest_hop(session: AsyncSession, appeal_id: uuid.UUID) -> Assignment | None:
    """The latest hop, or None before the first assignment."""
    return await session.scalar(
        select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop.desc()).limit(1)
    )


async def send_back_count(session: AsyncSession, appeal_id: uuid.UUID) -> int:
    """How many times units sent this appeal back (reassignments by the town or city not counted)."""
    n = await session.scalar(
        select(func.count())
        .select_from(Assignment)
        .where(
            Assignment.appeal_id == appeal_id,
            Assignment.state == "returned",
            Assignment.reason_code != REASSIGNED,
        )
    )
    return int(n or 0)


async def sees_appeal(session: AsyncSession, principal: Principal, appeal_id: uuid.UUID) -> bool:
    """Whether the appeal is in the member of staff's sight: its place (a village its own only), or
    a unit that holds or held it. Outside it a command answers `404`, as for an unknown id."""
    row = await session.get(TriageResult, appeal_id)
    if row is not None and scope.sees_place(principal, row.town_code, row.village_code):
        return True
    held = await session.scalar(
        select(Assignment.id)
        .where(
            Assignment.appeal_id == appeal_id,
            Assignment.unit_type == principal.org_type,
            Assignment.unit_code == principal.org_code,
        )
        .limit(1)
    )
    return held is not None


async def refusal(session: AsyncSession, principal: Principal, appeal_id: uuid.UUID) -> Forbidden | NotFound:
    """Why someone who does not hold the appeal is refused: `403` if they can see it, else `404`
    (never confirm that an appeal outside one's scope exists)."""
    return Forbidden() if await sees_appeal(session, principal, appeal_id) else NotFound()


def holds(principal: Principal, assignment: Assignment) -> bool:
    """Whether the member of staff works for the unit holding this hop (the city acts for all)."""
    return principal.role == "city_admin" or scope.sees_holding(
        principal, scope.Unit(assignment.unit_type, assignment.unit_code)
    )


async def assign(
    session: AsyncSession,
    triage: TriageResult,
    holder: Holder,
    *,
    binding: bool = False,
    decided_by: str = "triage",
    assisting: list[dict[str, Any]] | None = None,
    note: str | None = None,
    by: str | None = None,
    signed_off: bool = False,
) -> Assignment:
    """A new hop to ``holder``: the ``appeal.assigned`` event (and ``signed_off`` when the unit
    already holds the appeal and needs no second acknowledgement).

    Callers go through `handover.assign`, which also lists a direct-track appeal in the donor pool.
    """
    await facts.ensure_open(session, triage.appeal_id)
    # 保密: never the unit the appeal complains about.
    holder = await facts.holder_for(session, triage.appeal_id, holder)
    previous = await latest_hop(session, triage.appeal_id)
    if previous is not None and previous.state in ACTIVE:
        raise Conflict("该诉求仍由其他单位承办，请先改派。", state=previous.state)
    now = utcnow()
    policy_code = triage.policy_codes[0] if triage.track == "policy" and triage.policy_codes else None
    time_limit = await policy_time_limit(session, triage, policy_code)
    assignment = Assignment(
        appeal_id=triage.appeal_id,
        hop=(previous.hop + 1) if previous else 1,
        unit_type=holder.unit_type,
        unit_code=holder.unit_code,
        purpose=holder.purpose,
        state="signed_off" if signed_off else "assigned",
        assigned_at=now,
        signed_off_at=now if signed_off else None,
        track=triage.track,
        policy_code=policy_code,
        binding=binding,
        decided_by=decided_by,
        assisting_units=assisting or [],
        note=note,
        assigned_by=by,
    )
    session.add(assignment)
    await session.flush()
    events = [
        make_event(
            "appeal.assigned",
            "routing",
            AppealAssigned(
                unit_type=holder.unit_type,
                unit_code=holder.unit_code,
                purpose=holder.purpose,
                kind=triage.kind,
                urgency=triage.urgency,
                track=triage.track,
                policy_code=policy_code,
                hop=assignment.hop,
                policy_time_limit_working_days=time_limit,
            ),
            appeal_id=triage.appeal_id,
        )
    ]
    if signed_off:
        events.append(_signed_off_event(assignment))
    await publish(session, *events)
    return assignment


async def policy_time_limit(
    session: AsyncSession, triage: TriageResult, policy_code: str | None
) -> int | None:
    """The working days the catalogue gives the policy (办理时限), for its handling clock.

    The catalogue in force now decides (a limit city staff changed applies to hops made after
    the change); a policy retired since triage keeps the limit of the version it was routed with.
    """
    if policy_code is None:
        return None
    policy = (await catalogue.current_catalogue(session)).get(policy_code)
    if policy is None:
        policy = (await catalogue.load(session, triage.catalogue_version)).get(policy_code)
    return policy.time_limit_working_days if policy is not None else None


def _signed_off_event(assignment: Assignment) -> Any:
    return make_event(
        "appeal.signed_off",
        "routing",
        AppealSignedOff(unit_type=assignment.unit_type, unit_code=assignment.unit_code, hop=assignment.hop),
        appeal_id=assignment.appeal_id,
    )


async def sign_off(session: AsyncSession, appeal_id: uuid.UUID, principal: Principal) -> Assignment:
    """签收: the holding unit acknowledges the appeal."""
    assignment = await current_assignment(session, appeal_id, lock=True)
    if not holds(principal, assignment):
        raise await refusal(session, principal, appeal_id)
    if assignment.state != "assigned":
        raise Conflict(f"该诉求当前交办状态为「{assignment.state}」，不能签收。", state=assignment.state)
    assignment.state = "signed_off"
    assignment.signed_off_at = utcnow()
    await publish(session, _signed_off_event(assignment))
    return assignment


async def _return_hop(
    session: AsyncSession, assignment: Assignment, reason_code: str, policy_basis: str
) -> None:
    assignment.state = "returned" if reason_code != REASSIGNED else REASSIGNED
    assignment.returned_at = utcnow()
    assignment.reason_code, assignment.policy_basis = reason_code, policy_basis
    await publish(
        session,
        make_event(
            "appeal.returned",
            "routing",
            AppealReturned(
                unit_type=assignment.unit_type,
                unit_code=assignment.unit_code,
                reason_code=reason_code,
                policy_basis=policy_basis,
                hop=assignment.hop,
            ),
            appeal_id=assignment.appeal_id,
        ),
    )


async def send_back(
    session: AsyncSession, appeal_id: uuid.UUID, principal: Principal, reason_code: str, policy_basis: str
) -> Assignment:
    """退单: the holding unit returns the appeal with a reason code and its policy basis.

    Refused when the assignment is binding (decided by the town, the city or a joint meeting) or
    the appeal's send-backs are used up. The appeal goes to the town's manual triage queue; the
    send-back that reaches the cap leaves the decision to the town, for good.
    """
    if reason_code not in SEND_BACK_REASONS:
        raise InvalidInput(
            f"未知退单原因：{reason_code}（可选：{'、'.join(SEND_BACK_REASONS)}）",
            reason_codes=list(SEND_BACK_REASONS),
        )
    assignment = await current_assignment(session, appeal_id, lock=True)
    if not holds(principal, assignment):
        raise await refusal(session, principal, appeal_id)
    if assignment.state not in ACTIVE:
        raise Conflict(f"该诉求当前交办状态为「{assignment.state}」，不能退回。", state=assignment.state)
    cap = get_settings(RoutingSettings).send_back_cap
    count = await send_back_count(session, appeal_id)
    if not may_send_back(count, cap, assignment.binding):
        raise SendBackRefused(send_backs=count, cap=cap, binding=assignment.binding)
    await _return_hop(session, assignment, reason_code, policy_basis)
    triage = await session.get(TriageResult, appeal_id)
    town = triage.town_code if triage else None
    count += 1
    session.add(
        ManualTriageItem(
            appeal_id=appeal_id,
            level="town" if town else "city",
            town_code=town,
            reason="cap_reached" if count >= cap else "returned",
            note=f"{SEND_BACK_REASONS[reason_code]}：{policy_basis}",
        )
    )
    await session.flush()
    return assignment


async def take_back(session: AsyncSession, assignment: Assignment, note: str) -> None:
    """The town or the city takes an active hop away from its unit to assign it elsewhere."""
    await _return_hop(session, assignment, REASSIGNED, note)
