"""Triage of received appeals, the manual triage queue, and staff decisions on it.

A confident triage is announced at once (``appeal.triaged``, then the first ``appeal.assigned``).
An unsure one (low confidence, or no known place) waits in the manual triage queue of its town,
or of the city when the town is unknown, and nothing is announced until a person decides: the
triage clock keeps running meanwhile, as it should. Send-backs land in the same queue. Every
decision a person takes is recorded as a correction and becomes a labelled training example.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import NotInQueue, UnknownPolicy
from routing.models import Assignment, ManualTriageItem, Station, TriageCorrection, TriageResult
from routing.service import catalogue as catalogue_service
from routing.service.classifier.model import KIND_OF
from routing.service.classifier.triage import decide_received
from routing.service.common import require_decider
from routing.service.models_store import current_model
from routing.service.policies import DEPARTMENTS
from services.common import scope
from services.common.auth import Principal
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.contracts.events import AppealReceived
from services.contracts.vocabulary import CATEGORIES_BY_KIND, TRACKS, URGENCIES, SecondaryTrack

SECONDARY_TRACKS: tuple[str, ...] = get_args(SecondaryTrack)


async def record_received(
    session: AsyncSession, appeal_id: uuid.UUID, data: AppealReceived
) -> TriageResult | None:
    """Triage a newly received appeal and record the result; an unsure one goes to the manual
    queue (``needs_manual``). None when it was triaged already (a redelivered event).

    Announcing and assigning a confident one is the hand-over's (`routing.service.handover`)."""
    model = await current_model(session)
    catalogue = await catalogue_service.current_catalogue(session)
    decided = decide_received(
        data, model=model, catalogue=catalogue, station_place=await _station_place(session, data)
    )
    result, urgency, needs_manual = decided.triage, decided.urgency, decided.needs_manual
    town_code, village_code, method = decided.town_code, decided.village_code, decided.location_method
    location_confidence, evidence = decided.location_confidence, decided.location_evidence
    explanations = [asdict(e) for e in result.explanations]
    explanations.append(
        {
            "rule": f"location.{method}",
            "matched": [evidence] if evidence else [],
            "confidence": location_confidence,
        }
    )
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
            unsure=decided.unsure,
            explanations=explanations,
            catalogue_version=catalogue.version,
            state="pending" if needs_manual else "auto",
            kind_confidence=result.kind_confidence,
            category_confidence=result.category_confidence,
            urgency_confidence=result.urgency_confidence,
            location_confidence=location_confidence,
            location_evidence=evidence[:200] if evidence else None,
            model_version=result.model_version,
            title=data.title,
            description=data.description,
            category_hint=data.category_hint,
            beneficiary_count=data.beneficiary_count,
            estimated_amount_fen=data.estimated_amount_fen,
        )
        .on_conflict_do_nothing()
        .returning(TriageResult.appeal_id)
    )
    if inserted.first() is None:
        return None
    row = await session.get(TriageResult, appeal_id)
    assert row is not None
    if needs_manual:
        session.add(
            ManualTriageItem(
                appeal_id=appeal_id,
                level="town" if town_code else "city",
                town_code=town_code,
                reason="low_confidence" if town_code else "no_location",
            )
        )
        await session.flush()
    return row


async def _station_place(session: AsyncSession, data: AppealReceived) -> tuple[str, str | None] | None:
    """The (town, village) of the 莞家驿站 a walk-in was filed at, from the station register."""
    if data.channel != "station_walk_in" or not data.station_code:
        return None
    station = await session.get(Station, data.station_code)
    return (station.town_code, station.village_code) if station is not None else None


# --- the queue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    """An open item with the triage a person is asked to check."""

    item: ManualTriageItem
    triage: TriageResult


async def queue(
    session: AsyncSession,
    principal: Principal,
    *,
    town_code: str | None = None,
    unsure: bool | None = None,
    limit: int = 100,
) -> list[QueueEntry]:
    """Open items the member of staff may decide: the town's own, or (city) any, oldest first;
    with `unsure`, only those the model could (not) classify surely, so that staff can place the
    surely classified ones at a glance and read the others closely."""
    stmt = (
        select(ManualTriageItem, TriageResult)
        .join(TriageResult, TriageResult.appeal_id == ManualTriageItem.appeal_id)
        .where(ManualTriageItem.state == "open")
        .order_by(ManualTriageItem.created_at)
        .limit(limit)
    )
    if unsure is not None:
        stmt = stmt.where(TriageResult.unsure.is_(unsure))
    if principal.role == "city_admin":
        if town_code:
            stmt = stmt.where(ManualTriageItem.town_code == town_code)
    elif principal.role == "town_staff":
        stmt = stmt.where(ManualTriageItem.level == "town", ManualTriageItem.town_code == principal.org_code)
    else:
        raise Forbidden()
    return [QueueEntry(item, row) for item, row in (await session.execute(stmt)).all()]


async def open_item(
    session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = True
) -> ManualTriageItem | None:
    """The appeal's open queue item, if any."""
    stmt = select(ManualTriageItem).where(
        ManualTriageItem.appeal_id == appeal_id, ManualTriageItem.state == "open"
    )
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_triage(
    session: AsyncSession, appeal_id: uuid.UUID, principal: Principal | None
) -> TriageResult:
    """A triage, for the service or for staff who may see its town."""
    row = await session.get(TriageResult, appeal_id)
    if row is None:
        raise NotFound()
    if principal is not None and not await _may_see(session, principal, row):
        raise NotFound()  # never confirm that an appeal outside one's scope exists
    return row


async def _may_see(session: AsyncSession, principal: Principal, row: TriageResult) -> bool:
    # A village sees its own appeals only, never its neighbours' in the same town (DESIGN §7).
    if scope.sees_place(principal, row.town_code, row.village_code):
        return True
    # A unit that holds or held the appeal sees how it was triaged.
    held = await session.scalar(
        select(Assignment.id)
        .where(
            Assignment.appeal_id == row.appeal_id,
            Assignment.unit_type == principal.org_type,
            Assignment.unit_code == principal.org_code,
        )
        .limit(1)
    )
    return held is not None


# --- decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What a person decides: any field left None keeps the machine's (or the last) value."""

    kind: str | None = None
    category: str | None = None
    urgency: str | None = None
    track: str | None = None
    policy_code: str | None = None
    department: str | None = None
    town_code: str | None = None
    village_code: str | None = None
    unit_type: str | None = None
    unit_code: str | None = None
    reason: str | None = None
    # 政策 + top-up: "express" or "direct" beside a policy track, "none" to clear it.
    secondary_track: str | None = None


_LABELS = (
    "kind",
    "category",
    "urgency",
    "track",
    "secondary_track",
    "department",
    "town_code",
    "village_code",
    "policy_codes",
)


def _snapshot(row: TriageResult) -> dict[str, Any]:
    return {k: getattr(row, k) for k in _LABELS}


async def _apply(session: AsyncSession, row: TriageResult, d: Decision) -> None:
    """Check the decision and write it onto the triage row."""
    ref = load_reference()
    category = d.category or row.category
    if category not in KIND_OF:
        raise InvalidInput(f"未知类别：{category}")
    kind = d.kind or (KIND_OF[category] if d.category else row.kind)
    if category not in CATEGORIES_BY_KIND.get(kind, ()):  # type: ignore[call-overload]
        raise InvalidInput(f"类别 {category} 不属于 {kind}。")
    urgency = d.urgency or row.urgency
    if urgency not in URGENCIES:
        raise InvalidInput(f"未知紧急程度：{urgency}")
    track = d.track or row.track
    if track not in TRACKS:
        raise InvalidInput(f"未知办理渠道：{track}")
    town_code, village_code = row.town_code, row.village_code
    if d.town_code is not None:
        if ref.town_by_code(d.town_code) is None:
            raise InvalidInput(f"找不到镇街：{d.town_code}")
        town_code, village_code = d.town_code, None
    if d.village_code is not None:
        village = ref.village_by_code(d.village_code)
        if village is None or (town_code and village.town_code != town_code):
            raise InvalidInput(f"村（社区）{d.village_code} 不属于镇街 {town_code}。")
        town_code, village_code = village.town_code, village.code
    department, policy_codes = row.department, list(row.policy_codes)
    catalogue = await catalogue_service.current_catalogue(session)
    if d.policy_code is not None:
        policy = catalogue.get(d.policy_code)
        if policy is None:
            raise UnknownPolicy(f"政策目录 {catalogue.version} 中没有 {d.policy_code}。")
        track, department = "policy", policy.department
        policy_codes = [policy.code, *(c for c in policy_codes if c != policy.code)]
    if d.department is not None:
        if d.department not in DEPARTMENTS:
            raise InvalidInput(f"未知部门：{d.department}")
        department = d.department
    if track != "policy":
        department = None
    elif department is None:
        raise InvalidInput("政策办理须指明政策（policy_code）或部门（department）。")
    row.secondary_track = _secondary(row.secondary_track, d.secondary_track, track)
    row.kind, row.category, row.urgency, row.track = kind, category, urgency, track
    row.town_code, row.village_code, row.department = town_code, village_code, department
    row.policy_codes = policy_codes
    row.catalogue_version = catalogue.version


def _secondary(current: str | None, asked: str | None, track: str) -> str | None:
    """The top-up beside a policy benefit: only a policy track has one (a track that is no longer
    policy drops it); asking for one on another track is refused."""
    value = current if asked is None else (None if asked == "none" else asked)
    if value not in (None, *SECONDARY_TRACKS):
        raise InvalidInput(f"未知补充渠道：{value}（可选：express、direct）")
    if value is not None and track != "policy":
        if asked not in (None, "none"):
            raise InvalidInput(
                "补充渠道只用于政策办理（track 为 policy）之外的补足。", field="secondary_track"
            )
        return None
    return value


@dataclass(frozen=True)
class Correction:
    """A decision written onto the triage: the row, its open queue item and the deciding level."""

    row: TriageResult
    item: ManualTriageItem | None
    level: str


async def correct(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, d: Decision
) -> Correction:
    """A person's decision on an appeal's triage, checked and recorded as a correction (a labelled
    training example). Who then holds the appeal is the hand-over's (`handover.decide`)."""
    row = await session.get(TriageResult, appeal_id, with_for_update=True)
    if row is None:
        raise NotFound()
    item = await open_item(session, appeal_id)
    level = item.level if item else ("town" if row.town_code else "city")
    require_decider(principal, level, row.town_code)
    before = _snapshot(row)
    await _apply(session, row, d)
    after = _snapshot(row)
    session.add(
        TriageCorrection(
            appeal_id=appeal_id,
            staff_id=principal.staff_id,
            staff_username=principal.username,
            org_type=principal.org_type,
            org_code=principal.org_code,
            before=before,
            after=after,
            reason=d.reason,
            title=row.title,
            description=row.description,
            category_hint=row.category_hint,
            kind=row.kind,
            category=row.category,
            urgency=row.urgency,
            model_version=row.model_version,
        )
    )
    row.state = "corrected" if before != after else "confirmed"
    row.needs_manual = False
    row.updated_at = utcnow()
    return Correction(row, item, level)


async def escalate(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, note: str
) -> ManualTriageItem:
    """The town passes a decision it cannot take up to the city (then the city decides)."""
    item = await open_item(session, appeal_id)
    if item is None:
        raise NotInQueue()
    if item.level != "town":
        raise NotInQueue("该诉求已在市级人工分拣队列中。")
    require_decider(principal, "town", item.town_code)
    item.level, item.reason, item.note = "city", "escalated", note
    await session.flush()
    return item


async def resolve_for_agenda(session: AsyncSession, appeal_id: uuid.UUID, by: str) -> None:
    """The queue item is settled by putting the case on a joint meeting's agenda."""
    item = await open_item(session, appeal_id)
    if item is not None:
        item.state, item.resolved_at, item.resolved_by = "agenda", utcnow(), by
        await session.flush()
