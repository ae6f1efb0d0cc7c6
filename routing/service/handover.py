"""The hand-over (交接): where triage, dispositions, stations and donors meet.

Triage decides what an appeal is, dispositions who holds it, stations and donors how it is
served. None of those four modules imports another; whatever needs two of them (announce a
triage and assign its first holder, reassign after a person's decision, send an appeal to a
station, list a direct-track appeal in the donor pool, a donor's report with the station's
service records) is written here, above them. Consultations and joint meetings assign through
here too, so a direct-track appeal is listed in the pool whichever way it is assigned.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.config import RoutingSettings
from routing.errors import NotEscalable
from routing.models import Assignment, Donor, ManualTriageItem, TriageResult
from routing.service import claims, dispositions, donors, facts, stations, triage
from routing.service.common import acts_for_town, check_unit, publish
from routing.service.dispatch import Holder, binding_after, first_holder
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.messaging import utcnow
from services.common.settings import get_settings
from services.contracts.events import AppealReceived, AppealTriaged, make_event


async def assign(
    session: AsyncSession,
    row: TriageResult,
    holder: Holder,
    *,
    binding: bool = False,
    decided_by: str = "triage",
    assisting: list[dict[str, Any]] | None = None,
    note: str | None = None,
    by: str | None = None,
    signed_off: bool = False,
) -> Assignment:
    """A new hop (`dispositions.assign`); a direct-track appeal handed to its town for handling
    takes its place in the donor pool (莞家直达) at the same time."""
    assignment = await dispositions.assign(
        session,
        row,
        holder,
        binding=binding,
        decided_by=decided_by,
        assisting=assisting,
        note=note,
        by=by,
        signed_off=signed_off,
    )
    if "direct" in (row.track, row.secondary_track) and holder.purpose == "handle":
        await donors.ensure_listing(session, row)
    return assignment


async def announce(session: AsyncSession, row: TriageResult) -> None:
    """``appeal.triaged``: what the appeal is, for intake's projection and the clocks."""
    await publish(
        session,
        make_event(
            "appeal.triaged",
            "routing",
            AppealTriaged(
                kind=row.kind,
                category=row.category,
                urgency=row.urgency,
                track=row.track,
                town_code=row.town_code,
                village_code=row.village_code,
                policy_codes=list(row.policy_codes),
                catalogue_version=row.catalogue_version,
                secondary_track=row.secondary_track,
                needs_manual=False,
                confidence=row.confidence,
            ),
            appeal_id=row.appeal_id,
        ),
    )


async def default_holder(session: AsyncSession, row: TriageResult) -> Holder:
    """Who holds a triaged appeal first (a station-track one: a matching station if any)."""
    station = None
    if row.track == "station" and row.town_code:
        station = await stations.station_for(session, row.town_code, row.village_code, row.category)
    return first_holder(
        kind=row.kind,
        track=row.track,
        department=row.department,
        town_code=row.town_code,
        village_code=row.village_code,
        station_code=station,
    )


async def triage_received(session: AsyncSession, appeal_id: uuid.UUID, data: AppealReceived) -> bool:
    """Triage a newly received appeal; announce and assign it, or queue it. False when done already."""
    row = await triage.record_received(session, appeal_id, data)
    if row is None:
        return False
    if row.needs_manual:
        return True  # nothing is announced until a person decides
    if await facts.ended(session, appeal_id) is not None:
        return True  # merged (or withdrawn) before routing heard of it: nothing to hand over
    await announce(session, row)
    await assign(session, row, await default_holder(session, row))
    return True


async def decide(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, d: triage.Decision
) -> TriageResult:
    """A person's decision on an appeal's triage and holder; recorded as a correction.

    Works on an appeal in the manual queue (first triage, or after a send-back), and on one that
    was triaged automatically (a correction): if the holder changes, the active hop is taken back
    and the appeal is reassigned. After the send-backs are used up the decision is binding.
    """
    if not await dispositions.sees_appeal(session, principal, appeal_id):
        raise NotFound()  # outside one's scope an appeal does not exist
    await facts.ensure_open(session, appeal_id)
    correction = await triage.correct(session, principal, appeal_id, d)
    row, item, level = correction.row, correction.item, correction.level
    if d.unit_type or d.unit_code:
        if not (d.unit_type and d.unit_code):
            raise InvalidInput("指定承办单位须同时给出 unit_type 和 unit_code。")
        await check_unit(session, d.unit_type, d.unit_code)
        default = await default_holder(session, row)
        holder = Holder(d.unit_type, d.unit_code, default.purpose)  # type: ignore[arg-type]
    else:
        holder = await default_holder(session, row)

    current = await dispositions.latest_hop(session, appeal_id)
    active = current is not None and current.state in dispositions.ACTIVE
    same_holder = (
        active
        and current is not None
        and (current.unit_type, current.unit_code)
        == (
            holder.unit_type,
            holder.unit_code,
        )
    )
    if active and current is not None and not same_holder:
        await dispositions.take_back(session, current, d.reason or "镇街（市）改派承办单位")
    await announce(session, row)
    if not same_holder:
        send_backs = await dispositions.send_back_count(session, appeal_id)
        escalated = item is not None and item.reason == "escalated"
        await assign(
            session,
            row,
            holder,
            binding=escalated or binding_after(send_backs, get_settings(RoutingSettings).send_back_cap),
            decided_by=level,
            note=d.reason,
            by=principal.username,
        )
    if item is not None:
        item.state, item.resolved_at, item.resolved_by = "resolved", utcnow(), principal.username
    await session.flush()
    return row


async def escalate(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, note: str
) -> ManualTriageItem:
    """上报市级: the city decides who holds the appeal, bindingly.

    From the town's manual queue (the town passes its decision up), or, for an appeal a unit
    already holds (a village, town, department or station), by that unit or by its town: the
    appeal then waits in the city's queue while the holder keeps it (its clocks keep running and
    stay charged to it) until the city decides and reassigns it."""
    if await triage.open_item(session, appeal_id) is not None:
        return await triage.escalate(session, principal, appeal_id, note)
    row = await session.get(TriageResult, appeal_id, with_for_update=True)
    if row is None:
        raise NotFound()
    hop = await dispositions.latest_hop(session, appeal_id)
    active = hop is not None and hop.state in dispositions.ACTIVE
    # Who may act is checked before the state, so that an outsider learns nothing of the appeal.
    if not (
        (active and hop is not None and dispositions.holds(principal, hop))
        or acts_for_town(principal, row.town_code)
    ):
        raise await dispositions.refusal(session, principal, appeal_id)
    if hop is None or not active:
        raise NotEscalable("该诉求当前没有承办单位（已办结、已退回或尚未交办），不能上报市级。")
    if hop.unit_type == "city":
        raise NotEscalable("该诉求已由市级承办。")
    item = ManualTriageItem(
        appeal_id=appeal_id, level="city", town_code=row.town_code, reason="escalated", note=note
    )
    try:
        async with session.begin_nested():
            session.add(item)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("该诉求已在人工分拣队列中。") from exc
    await session.refresh(item)
    return item


async def dispatch_to_station(
    session: AsyncSession, principal: Principal, code: str, appeal_id: uuid.UUID, note: str | None
) -> Assignment:
    """The town (or city) sends a station-track appeal it holds, or that a station holds, to a station."""
    station = await stations.get(session, code)
    if not station.active:
        raise Conflict("该驿站已停用。")
    row = await session.get(TriageResult, appeal_id, with_for_update=True)
    if row is None:
        raise NotFound()
    if not stations.may_manage(principal, row.town_code or ""):
        raise Forbidden()
    if station.town_code != row.town_code and principal.role != "city_admin":
        raise InvalidInput("只能派给本镇街的驿站。")
    current = await dispositions.latest_hop(session, appeal_id)
    if current is not None and current.state in dispositions.ACTIVE:
        if (current.unit_type, current.unit_code) == ("station", code):
            raise Conflict("该诉求已由此驿站承办。")
        await dispositions.take_back(session, current, note or f"派往莞家驿站 {station.name}")
    if row.track != "station":
        row.track, row.department, row.updated_at = "station", None, utcnow()

    await announce(session, row)
    return await assign(
        session,
        row,
        Holder("station", code, "handle"),
        decided_by="town" if principal.role == "town_staff" else "city",
        note=note,
        by=principal.username,
    )


async def donor_report(session: AsyncSession, donor: Donor, claim_id: uuid.UUID) -> dict[str, Any]:
    """The donor's completion report, with the station's confirmed service records."""
    claim, listing = await claims.confirmed_claim(session, donor, claim_id)
    services = [
        {"served_on": r.served_on.isoformat(), "visits": r.visits, "minutes": r.minutes}
        for r in await stations.records(session, claim.appeal_id)
        if r.state == "confirmed"
    ]
    return claims.report(donor, claim, listing, services)


async def note_complaint(
    session: AsyncSession, appeal_id: uuid.UUID, unit_type: str | None, unit_code: str | None
) -> Assignment | None:
    """保密: the unit an appeal complains about was just named. Remember it and, if it holds the
    appeal, take it back and hand it one level up, for the same purpose (announced like a
    reassignment). None when nothing moved.

    Locks in the order every hand-over takes them (the triage row, then the fact row), so that a
    hand-over made while the complaint is noted either sees the complaint or is seen by it."""
    row = await session.get(TriageResult, appeal_id, with_for_update=True)
    await facts.note_complaint(session, appeal_id, unit_type, unit_code)
    if row is None:
        # Not triaged when we looked: a triage under way holds the fact row until it commits, so
        # the upsert above has waited for it and its hop, if any, is visible now.
        row = await session.get(TriageResult, appeal_id, with_for_update=True)
    if row is None:
        return None
    current = await dispositions.latest_hop(session, appeal_id)
    complained = await facts.complained_unit(session, appeal_id)
    if current is None or complained is None or current.state not in dispositions.ACTIVE:
        return None
    if (current.unit_type, current.unit_code) != complained or complained[0] == "city":
        return None
    if await facts.ended(session, appeal_id) is not None:
        return None
    await dispositions.take_back(session, current, "保密：被反映单位不承办该诉求，改由上级承办")
    await announce(session, row)
    holder = Holder(current.unit_type, current.unit_code, current.purpose)  # type: ignore[arg-type]
    return await assign(
        session,
        row,
        holder,  # `dispositions.assign` hands it to the unit above
        binding=current.binding,
        decided_by="confidential",
        note="保密：被反映单位回避",
        by="routing",
    )
