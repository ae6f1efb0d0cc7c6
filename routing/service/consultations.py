"""Community consultation of micro-projects (民生微实事协商议事): record, notice, objections, outcome.

The unit holding the appeal for consultation (its village, or its town) records a meeting: form,
body, attendance, the five points and the votes on each. The organic laws' quorum and majority
(``routing.service.consultation_rules``) decide:
- no quorum: the meeting could not decide; another one may be held;
- a point failed: rejected with the reason (``consultation.decided``, outcome ``rejected``:
  intake rejects the appeal and tells the resident why);
- all points passed: the plan is publicly noticed (公示) for ``notice_days``; an objection during
  the notice sends it back to consultation; when the notice ends without one, the plan is approved:
  ``consultation.decided`` (``approved``) and ``plan.approved`` (budget, track, holder unit), and
  the holder gets the appeal to carry out (signed off at once when it already holds it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import ConsultationClosed
from routing.models import Consultation, ConsultationObjection, TriageResult, commands
from routing.service import dispositions, facts, handover
from routing.service.common import acts_for_town, check_unit, publish
from routing.service.consultation_rules import DEFAULT_BODY, FORM_NAMES, POINTS, Attendance, Vote, decide
from routing.service.dispatch import Holder
from routing.service.donors import ensure_listing
from services.common import scope
from services.common.auth import Principal
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.idempotency import run_once, scoped_key
from services.common.messaging import utcnow
from services.common.public_text import public_text
from services.contracts.events import (
    ConsultationChanged,
    ConsultationDecided,
    ConsultationNoticed,
    ConsultationObjected,
    PlanApproved,
    make_event,
)
from services.contracts.vocabulary import TRACKS


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting's minutes as the convening unit records them."""

    form: str
    body: str | None
    held_at: datetime
    eligible_count: int
    present_count: int
    households_total: int | None
    households_present: int | None
    attendees: list[dict[str, Any]]
    necessity: str
    feasibility: str
    budget_fen: int
    beneficiaries: dict[str, Any]
    implementer: str
    votes: dict[str, dict[str, int]]
    track: str
    holder_type: str
    holder_code: str
    notice_days: int | None


async def _consult_hop(session: AsyncSession, appeal_id: uuid.UUID, principal: Principal) -> Any:
    hop = await dispositions.current_assignment(session, appeal_id, lock=True)
    if not dispositions.holds(principal, hop):  # before the state: an outsider learns nothing
        raise await dispositions.refusal(session, principal, appeal_id)
    if hop.purpose != "consult" or hop.state not in dispositions.ACTIVE:
        raise ConsultationClosed("该诉求当前不在协商议事环节。")
    return hop


async def record(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, m: MeetingRecord, *, notice_days: int
) -> Consultation:
    """Record a meeting and its decision; a passed plan goes on public notice."""
    if m.form not in FORM_NAMES:
        raise InvalidInput(f"未知协商形式：{m.form}（可选：{'、'.join(FORM_NAMES)}）")
    body = m.body or DEFAULT_BODY[m.form]
    if body not in ("assembly", "representatives"):
        raise InvalidInput("会议类型须为 assembly（居民会议）或 representatives（代表会议）。")
    if m.track not in TRACKS:
        raise InvalidInput(f"未知办理渠道：{m.track}")
    hop = await _consult_hop(session, appeal_id, principal)
    triage = await session.get(TriageResult, appeal_id)
    assert triage is not None
    await check_unit(session, m.holder_type, m.holder_code)
    try:
        attendance = Attendance(m.eligible_count, m.present_count, m.households_total, m.households_present)
        votes = {p: Vote(**m.votes[p]) for p in POINTS if p in m.votes}
        outcome = decide(body, attendance, votes)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"会议人数或表决数据有误：{exc}") from exc
    now = utcnow()
    state = "notice" if outcome.passed else ("rejected" if outcome.quorum else "no_quorum")
    consultation = Consultation(
        appeal_id=appeal_id,
        org_type=hop.unit_type,
        org_code=hop.unit_code,
        town_code=triage.town_code or "",
        form=m.form,
        body=body,
        held_at=m.held_at,
        eligible_count=m.eligible_count,
        present_count=m.present_count,
        households_total=m.households_total,
        households_present=m.households_present,
        attendees=m.attendees,
        necessity=m.necessity,
        feasibility=m.feasibility,
        budget_fen=m.budget_fen,
        beneficiaries=m.beneficiaries,
        implementer=m.implementer,
        votes={p: vars(v) for p, v in votes.items()},
        track=m.track,
        holder_type=m.holder_type,
        holder_code=m.holder_code,
        quorum_met=outcome.quorum,
        passed=outcome.passed,
        state=state,
        reason=outcome.reason(),
        notice_days=notice_days,
        notice_ends_at=now + timedelta(days=notice_days) if outcome.passed else None,
        decided_at=now if state == "rejected" else None,
        recorded_by=principal.username,
    )
    try:
        async with session.begin_nested():
            session.add(consultation)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("该诉求已有协商通过、正在公示或已批准的方案。") from exc
    if hop.state == "assigned":
        await dispositions.sign_off(session, appeal_id, principal)  # holding a meeting is taking it on
    if state == "rejected":
        hop.state = "done"
        await publish(session, _decided(consultation))
    if state == "notice" and consultation.notice_ends_at is not None:
        # The resident hears that the plan is on public notice (公示), and until when (issue 16.2).
        noticed = ConsultationNoticed(
            consultation_id=consultation.id,
            unit_type=consultation.org_type,
            unit_code=consultation.org_code,
            notice_ends_at=consultation.notice_ends_at,
            budget_fen=consultation.budget_fen,
        )
        await publish(session, make_event("consultation.noticed", "routing", noticed, appeal_id=appeal_id))
    await publish(session, await changed(session, consultation, triage, at=now))
    return consultation


def _safe(text: str | None) -> str | None:
    return public_text(text) if text else text


async def changed(
    session: AsyncSession, c: Consultation, triage: TriageResult | None = None, *, at: datetime | None = None
) -> Any:
    """``consultation.changed``: the public notice (公示) as it now stands, public-safe."""
    triage = triage or await session.get(TriageResult, c.appeal_id)
    assert triage is not None
    objections = await session.scalar(
        select(func.count())
        .select_from(ConsultationObjection)
        .where(ConsultationObjection.consultation_id == c.id)
    )
    noticed = c.notice_ends_at is not None
    event = make_event(
        "consultation.changed",
        "routing",
        ConsultationChanged(
            consultation_id=c.id,
            ticket_no=triage.ticket_no,
            unit_type=c.org_type,
            unit_code=c.org_code,
            town_code=triage.town_code,
            village_code=triage.village_code,
            form=c.form,
            body=c.body,
            held_at=c.held_at,
            eligible_count=c.eligible_count,
            present_count=c.present_count,
            households_total=c.households_total,
            households_present=c.households_present,
            quorum_met=c.quorum_met,
            necessity=public_text(c.necessity),
            feasibility=public_text(c.feasibility),
            budget_fen=c.budget_fen,
            beneficiary_count=c.beneficiaries.get("count"),
            beneficiary_group=_safe(c.beneficiaries.get("group")),
            beneficiary_description=_safe(c.beneficiaries.get("description")),
            implementer=public_text(c.implementer),
            track=c.track,
            votes=c.votes,
            state=c.state,
            reason=_safe(c.reason),
            notice_days=c.notice_days,
            notice_starts_at=(c.notice_ends_at - timedelta(days=c.notice_days)) if noticed else None,  # type: ignore[operator]
            notice_ends_at=c.notice_ends_at,
            objections=int(objections or 0),
            decided_at=c.decided_at,
        ),
        appeal_id=c.appeal_id,
    )
    if at is not None:
        # The snapshot's time orders it against the others of the same consultation.
        event = event.model_copy(update={"occurred_at": at})
    return event


def _decided(c: Consultation) -> Any:
    return make_event(
        "consultation.decided",
        "routing",
        ConsultationDecided(
            consultation_id=c.id,
            outcome="approved" if c.state == "approved" else "rejected",
            form=c.form,
            unit_type=c.org_type,
            unit_code=c.org_code,
            reason=c.reason,
            budget_fen=c.budget_fen,
            present_count=c.present_count,
            eligible_count=c.eligible_count,
        ),
        appeal_id=c.appeal_id,
    )


async def get(session: AsyncSession, consultation_id: uuid.UUID, *, lock: bool = False) -> Consultation:
    """One consultation."""
    found = await session.get(Consultation, consultation_id, with_for_update=lock or None)
    if found is None:
        raise NotFound()
    if lock:  # a command: refused on an appeal merged away (issue 15.8)
        await facts.ensure_open(session, found.appeal_id)
    return found


def may_act(principal: Principal, c: Consultation) -> bool:
    if principal.role == "city_admin":
        return True
    if scope.sees_holding(principal, scope.Unit(c.org_type, c.org_code)):
        return True
    return acts_for_town(principal, c.town_code)


async def object_to(
    session: AsyncSession,
    principal: Principal,
    consultation_id: uuid.UUID,
    summary: str,
    *,
    now: datetime | None = None,
) -> Consultation:
    """异议: recorded during the notice, it sends the item back to consultation."""
    c = await get(session, consultation_id, lock=True)
    if not may_act(principal, c):
        raise await dispositions.refusal(session, principal, c.appeal_id)
    at = now or utcnow()
    if c.state != "notice" or (c.notice_ends_at is not None and at > c.notice_ends_at):
        raise ConsultationClosed("公示期外不能登记异议。", state=c.state)
    objection = ConsultationObjection(consultation_id=c.id, summary=summary, recorded_by=principal.username)
    session.add(objection)
    c.state, c.reason = "objected", f"公示期间收到异议：{summary}"
    await session.flush()
    await _objected(session, c, objection, "staff")
    return c


async def _objected(
    session: AsyncSession, c: Consultation, objection: ConsultationObjection, by: str
) -> None:
    triage = await session.get(TriageResult, c.appeal_id)
    assert triage is not None
    await publish(
        session,
        make_event(
            "consultation.objected",
            "routing",
            ConsultationObjected(
                consultation_id=c.id,
                objection_id=objection.id,
                ticket_no=triage.ticket_no,
                unit_type=c.org_type,
                unit_code=c.org_code,
                town_code=c.town_code or None,
                by=by,
            ),
            appeal_id=c.appeal_id,
        ),
        await changed(session, c, triage),
    )


async def object_by_resident(
    session: AsyncSession,
    consultation_id: uuid.UUID,
    *,
    resident_ref: str,
    reason: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> tuple[ConsultationObjection, Consultation, bool]:
    """A resident's 异议 during the notice (mini-program): like one staff record, it sends the plan
    back to consultation and tells the convening unit. Returns (objection, consultation, created);
    the same key again (per resident) answers the first objection, with another body it is a
    ``409``; a refusal leaves the key unused (the kernel's `run_once`)."""

    async def create() -> tuple[ConsultationObjection, str]:
        objection = await _record_resident_objection(session, consultation_id, resident_ref, reason, now)
        return objection, str(objection.id)

    async def recall(ident: str) -> ConsultationObjection:
        found = await session.get(ConsultationObjection, uuid.UUID(ident), populate_existing=True)
        assert found is not None  # objections are never deleted
        return found

    once = await run_once(
        session,
        commands,
        operation="resident_objection",
        key=scoped_key("objection", resident_ref, idempotency_key),
        command={"consultation_id": str(consultation_id), "reason": reason},
        actor=f"resident:{resident_ref}",
        create=create,
        recall=recall,
    )
    return once.value, await get(session, once.value.consultation_id), not once.replayed


async def _record_resident_objection(
    session: AsyncSession, consultation_id: uuid.UUID, resident_ref: str, reason: str, now: datetime | None
) -> ConsultationObjection:
    c = await get(session, consultation_id, lock=True)
    at = now or utcnow()
    if c.state != "notice" or (c.notice_ends_at is not None and at > c.notice_ends_at):
        raise ConsultationClosed("该事项不在公示期内，不能提出异议。", state=c.state)
    objection = ConsultationObjection(
        consultation_id=c.id,
        summary=reason,
        recorded_by="resident",
        by_kind="resident",
        resident_ref=resident_ref,
    )
    session.add(objection)
    # The resident's own words stay with the convening unit; the public reads that there was one.
    c.state, c.reason = "objected", "公示期间收到群众异议，退回重新协商。"
    await session.flush()
    await session.refresh(objection)
    await _objected(session, c, objection, "resident")
    return objection


async def finalise(session: AsyncSession, c: Consultation, *, now: datetime | None = None) -> bool:
    """After a notice without objection: approve the plan and hand the appeal to its holder."""
    at = now or utcnow()
    if c.state != "notice" or c.notice_ends_at is None or at < c.notice_ends_at:
        return False
    triage = await session.get(TriageResult, c.appeal_id, with_for_update=True)
    assert triage is not None
    c.state, c.decided_at = "approved", at
    hop = await dispositions.current_assignment(session, c.appeal_id, lock=True)
    same_unit = (hop.unit_type, hop.unit_code) == (c.holder_type, c.holder_code)
    if hop.state in dispositions.ACTIVE:
        hop.state = "done"
    triage.track = c.track
    holder = Holder(c.holder_type, c.holder_code, "handle")  # type: ignore[arg-type]
    await publish(
        session,
        _decided(c),
        make_event(
            "plan.approved",
            "routing",
            PlanApproved(
                consultation_id=c.id,
                amount_fen=c.budget_fen,
                track=c.track,
                unit_type=c.holder_type,
                unit_code=c.holder_code,
                town_code=triage.town_code,
                village_code=triage.village_code,
                kind=triage.kind,
                category=triage.category,
                implementer=c.implementer,
            ),
            appeal_id=c.appeal_id,
        ),
    )
    await handover.assign(
        session,
        triage,
        holder,
        decided_by="consultation",
        note=c.implementer,
        by="consultation",
        signed_off=same_unit,
    )
    if c.track == "direct":
        await ensure_listing(session, triage, target_fen=c.budget_fen, open_now=True)
    await session.flush()
    await publish(session, await changed(session, c, triage, at=at))
    return True


async def finalise_due(session: AsyncSession, now: datetime | None = None, limit: int = 100) -> int:
    """Approve every plan whose notice ended without objection (the worker's periodic job)."""
    at = now or utcnow()
    due = (
        await session.scalars(
            select(Consultation)
            .where(Consultation.state == "notice", Consultation.notice_ends_at <= at)
            .order_by(Consultation.notice_ends_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    done = 0
    for c in due:
        done += await finalise(session, c, now=at)
    return done


async def republish(session: AsyncSession, consultation_ids: list[uuid.UUID]) -> None:
    """``consultation.changed`` for consultations changed from outside this module (a notice
    cancelled because its appeal ended, or running again because a merge was undone)."""
    for consultation_id in consultation_ids:
        c = await session.get(Consultation, consultation_id, populate_existing=True)
        if c is not None:
            await publish(session, await changed(session, c))


async def of_appeal(session: AsyncSession, appeal_id: uuid.UUID) -> list[Consultation]:
    """Every consultation held on an appeal, oldest first."""
    rows = await session.scalars(
        select(Consultation).where(Consultation.appeal_id == appeal_id).order_by(Consultation.created_at)
    )
    return list(rows.all())
