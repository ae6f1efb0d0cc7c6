"""莞家驿站: the station registry, dispatching station-track appeals, and service records.

A station serves categories (e.g. ``elderly_care``, ``counselling``); a station-track appeal goes
to a station of its village that serves its category, else one of its town, else to the town,
which dispatches by hand. A service record (a visit, its hours) counts once the beneficiary
(with the appeal's ticket number and query code) or a member of staff outside the station
confirms it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import Assignment, ServiceRecord, Station, TriageResult
from routing.service import facts
from routing.service.classifier.model import ALL_CATEGORIES
from routing.service.common import acts_for_town, may_act_for
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.messaging import utcnow
from services.common.reference import load_reference

TEAM_ROLES = ("social_organisation", "social_worker", "volunteer")


@dataclass(frozen=True)
class StationData:
    """A station as staff register or change it."""

    name: str
    town_code: str
    village_code: str | None
    services: list[str]
    team: list[dict[str, Any]]
    active: bool = True


def _validate(data: StationData) -> None:
    ref = load_reference()
    if ref.town_by_code(data.town_code) is None:
        raise InvalidInput(f"找不到镇街：{data.town_code}")
    if data.village_code is not None:
        village = ref.village_by_code(data.village_code)
        if village is None or village.town_code != data.town_code:
            raise InvalidInput(f"村（社区）{data.village_code} 不属于镇街 {data.town_code}。")
    unknown = [s for s in data.services if s not in ALL_CATEGORIES]
    if not data.services or unknown:
        raise InvalidInput(f"服务类别须为已知类别：{'、'.join(unknown) or '（空）'}")
    for member in data.team:
        if member.get("role") not in TEAM_ROLES or not str(member.get("name", "")).strip():
            raise InvalidInput("团队成员须有角色（social_organisation / social_worker / volunteer）和名称。")


def may_manage(principal: Principal, town_code: str) -> bool:
    """The city's admins manage every station; a town's staff their town's."""
    return principal.role == "city_admin" or acts_for_town(principal, town_code)


async def register(session: AsyncSession, principal: Principal, code: str, data: StationData) -> Station:
    """Register a station (the town's staff or the city's)."""
    _validate(data)
    if not may_manage(principal, data.town_code):
        raise Forbidden()
    station = Station(
        code=code,
        name=data.name,
        town_code=data.town_code,
        village_code=data.village_code,
        services=list(dict.fromkeys(data.services)),
        team=data.team,
        active=data.active,
    )
    try:
        async with session.begin_nested():
            session.add(station)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"驿站编码 {code} 已存在。") from exc
    return station


async def update(session: AsyncSession, principal: Principal, code: str, data: StationData) -> Station:
    """Change a station's details, services or team."""
    _validate(data)
    station = await session.get(Station, code, with_for_update=True)
    if station is None:
        raise NotFound()
    if not (may_manage(principal, station.town_code) and may_manage(principal, data.town_code)):
        raise Forbidden()
    station.name, station.town_code, station.village_code = data.name, data.town_code, data.village_code
    station.services, station.team, station.active = (
        list(dict.fromkeys(data.services)),
        data.team,
        data.active,
    )
    station.updated_at = utcnow()
    await session.flush()
    return station


async def get(session: AsyncSession, code: str) -> Station:
    """One station."""
    station = await session.get(Station, code)
    if station is None:
        raise NotFound()
    return station


async def listing(
    session: AsyncSession, *, town_code: str | None, village_code: str | None, service: str | None
) -> list[Station]:
    """Stations by place and service."""
    stmt = select(Station).order_by(Station.code)
    if town_code:
        stmt = stmt.where(Station.town_code == town_code)
    if village_code:
        stmt = stmt.where(Station.village_code == village_code)
    if service:
        stmt = stmt.where(Station.services.contains([service]))
    return list((await session.scalars(stmt)).all())


async def station_for(
    session: AsyncSession, town_code: str, village_code: str | None, category: str
) -> str | None:
    """The station a station-track appeal goes to: the village's own, else a town-wide one, else
    any of the town's that serves the category; None when the town has none (the town dispatches)."""
    candidates = (
        await session.execute(
            select(Station.code, Station.village_code)
            .where(Station.active, Station.town_code == town_code, Station.services.contains([category]))
            .order_by(Station.code)
        )
    ).all()

    def rank(row: Any) -> int:
        if village_code is not None and row.village_code == village_code:
            return 0
        return 1 if row.village_code is None else 2

    best = min(candidates, key=rank, default=None)
    return best.code if best is not None else None


# --- service records -------------------------------------------------------------------------------


async def record_service(
    session: AsyncSession,
    principal: Principal,
    code: str,
    appeal_id: uuid.UUID,
    *,
    served_on: date,
    visits: int,
    minutes: int,
    description: str,
    workers: list[dict[str, Any]],
) -> ServiceRecord:
    """A station records a visit on an appeal it holds."""
    station = await get(session, code)
    if (
        not (principal.org_type == "station" and principal.org_code == code)
        and principal.role != "city_admin"
    ):
        raise Forbidden()
    held = await session.scalar(
        select(Assignment.id).where(
            Assignment.appeal_id == appeal_id,
            Assignment.unit_type == "station",
            Assignment.unit_code == station.code,
        )
    )
    if held is None:
        raise NotFound("该驿站未承办此诉求。")
    await facts.ensure_open(session, appeal_id)  # no service on an appeal merged away (issue 15.8)
    record = ServiceRecord(
        appeal_id=appeal_id,
        station_code=code,
        served_on=served_on,
        visits=visits,
        minutes=minutes,
        description=description,
        workers=workers,
        recorded_by=principal.username,
    )
    session.add(record)
    await session.flush()
    return record


async def confirm_service(
    session: AsyncSession, record_id: uuid.UUID, *, principal: Principal | None, ticket_no: str | None
) -> ServiceRecord:
    """确认: the beneficiary (who holds the ticket) or staff of the town, village or city confirms."""
    record = await session.get(ServiceRecord, record_id, with_for_update=True)
    if record is None:
        raise NotFound()
    triage = await session.get(TriageResult, record.appeal_id)
    if principal is not None:
        if principal.org_type == "station" or principal.role in ("department_staff", "auditor"):
            raise Forbidden()  # a station never confirms its own work
        if triage is None or not may_act_for(principal, triage.town_code, triage.village_code):
            raise Forbidden()
        by_kind, by = "staff", principal.username
    else:
        if triage is None or ticket_no is None or triage.ticket_no != ticket_no:
            raise NotFound()
        by_kind, by = "beneficiary", "beneficiary"
    if record.state == "confirmed":
        raise Conflict("该服务记录已确认。", state=record.state)
    record.state, record.confirmed_at = "confirmed", utcnow()
    record.confirmed_by_kind, record.confirmed_by = by_kind, by
    await session.flush()
    return record


async def records(session: AsyncSession, appeal_id: uuid.UUID) -> list[ServiceRecord]:
    """The service records of an appeal."""
    rows = await session.scalars(
        select(ServiceRecord).where(ServiceRecord.appeal_id == appeal_id).order_by(ServiceRecord.served_on)
    )
    return list(rows.all())


async def totals(session: AsyncSession, code: str) -> dict[str, int]:
    """A station's confirmed visits and minutes."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(ServiceRecord.visits), 0),
                func.coalesce(func.sum(ServiceRecord.minutes), 0),
                func.count(),
            ).where(ServiceRecord.station_code == code, ServiceRecord.state == "confirmed")
        )
    ).one()
    return {"visits": int(row[0]), "minutes": int(row[1]), "records": int(row[2])}
