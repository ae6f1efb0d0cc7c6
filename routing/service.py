"""Routing's domain logic: triage an appeal once, assign it, record sign-off and send-back."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing.dispatch import first_holder
from routing.models import Assignment, TriageResult, messaging
from routing.policies import CATALOGUE_VERSION
from routing.triage import triage
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.messaging import emit, utcnow
from services.common.reference.locate import resolve_location
from services.contracts.events import (
    AppealAssigned,
    AppealReceived,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    make_event,
)


async def triage_received(session: AsyncSession, appeal_id: uuid.UUID, data: AppealReceived) -> bool:
    """Triage a newly received appeal and hand it to its first unit. False when already done."""
    text = " ".join(p for p in (data.title, data.description) if p)
    result = triage(
        data.title,
        data.description,
        category_hint=data.category_hint,
        beneficiary_count=data.beneficiary_count,
        estimated_amount_fen=data.estimated_amount_fen,
    )
    town_code: str | None
    village_code: str | None
    if data.town_code:
        town_code, village_code, method = data.town_code, data.village_code, "channel"
    else:
        loc = resolve_location(
            data.address, text=text, lat=data.lat, lng=data.lng, grid_code=data.grid_code, datum=data.datum
        )
        town_code, village_code, method = loc.town_code, loc.village_code, loc.method
    urgency = data.urgency_hint if data.urgency_hint == "emergency" else result.urgency
    needs_manual = result.needs_manual or town_code is None
    inserted = await session.execute(
        pg_insert(TriageResult)
        .values(
            appeal_id=appeal_id,
            ticket_no=data.ticket_no,
            kind=result.kind,
            category=result.category,
            urgency=urgency,
            track=result.track,
            department=result.department,
            town_code=town_code,
            village_code=village_code,
            location_method=method,
            policy_codes=[p.policy_code for p in result.policies],
            confidence=min(result.kind_confidence, result.category_confidence),
            needs_manual=needs_manual,
            explanations=[asdict(e) for e in result.explanations],
            catalogue_version=CATALOGUE_VERSION,
        )
        .on_conflict_do_nothing()
        .returning(TriageResult.appeal_id)
    )
    if inserted.first() is None:
        return False
    holder = first_holder(
        kind=result.kind,
        track=result.track,
        department=result.department,
        town_code=town_code,
        village_code=village_code,
    )
    session.add(
        Assignment(
            appeal_id=appeal_id,
            hop=1,
            unit_type=holder.unit_type,
            unit_code=holder.unit_code,
            purpose=holder.purpose,
            state="assigned",
            assigned_at=utcnow(),
        )
    )
    await emit(
        session,
        messaging,
        make_event(
            "appeal.triaged",
            "routing",
            AppealTriaged(
                kind=result.kind,
                category=result.category,
                urgency=urgency,
                track=result.track,
                town_code=town_code,
                village_code=village_code,
                policy_codes=[p.policy_code for p in result.policies],
                catalogue_version=CATALOGUE_VERSION,
                needs_manual=needs_manual,
                confidence=min(result.kind_confidence, result.category_confidence),
            ),
            appeal_id=appeal_id,
        ),
        make_event(
            "appeal.assigned",
            "routing",
            AppealAssigned(
                unit_type=holder.unit_type,
                unit_code=holder.unit_code,
                purpose=holder.purpose,
                kind=result.kind,
                urgency=urgency,
                track=result.track,
                policy_code=result.policies[0].policy_code
                if result.track == "policy" and result.policies
                else None,
                hop=1,
            ),
            appeal_id=appeal_id,
        ),
    )
    await session.flush()
    return True


async def current_assignment(
    session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False
) -> Assignment:
    """The latest hop of an appeal."""
    stmt = (
        select(Assignment).where(Assignment.appeal_id == appeal_id).order_by(Assignment.hop.desc()).limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise NotFound()
    return found


def _holds(principal: Principal, assignment: Assignment) -> bool:
    return principal.role == "city_admin" or (
        principal.org_type == assignment.unit_type and principal.org_code == assignment.unit_code
    )


async def sign_off(session: AsyncSession, appeal_id: uuid.UUID, principal: Principal) -> Assignment:
    """签收: the holding unit acknowledges the appeal."""
    assignment = await current_assignment(session, appeal_id, lock=True)
    if not _holds(principal, assignment):
        raise Forbidden()
    if assignment.state != "assigned":
        raise Conflict(f"该诉求当前交办状态为「{assignment.state}」，不能签收。", state=assignment.state)
    assignment.state = "signed_off"
    assignment.signed_off_at = utcnow()
    await emit(
        session,
        messaging,
        make_event(
            "appeal.signed_off",
            "routing",
            AppealSignedOff(
                unit_type=assignment.unit_type, unit_code=assignment.unit_code, hop=assignment.hop
            ),
            appeal_id=appeal_id,
        ),
    )
    return assignment


async def send_back(
    session: AsyncSession, appeal_id: uuid.UUID, principal: Principal, reason_code: str, policy_basis: str
) -> Assignment:
    """退单: the holding unit returns the appeal with a reason and its policy basis."""
    assignment = await current_assignment(session, appeal_id, lock=True)
    if not _holds(principal, assignment):
        raise Forbidden()
    if assignment.state == "returned":
        raise Conflict("该诉求已退回。", state=assignment.state)
    assignment.state = "returned"
    assignment.returned_at = utcnow()
    assignment.reason_code, assignment.policy_basis = reason_code, policy_basis
    await emit(
        session,
        messaging,
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
            appeal_id=appeal_id,
        ),
    )
    return assignment
