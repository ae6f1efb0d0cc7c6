"""The villages and communities the city imported (schema `reference`), laid over the shipped ones.

The shipped `villages.csv` is a real subset; the city loads its own register (~600 rows) with
`guanjia reference import --kind villages FILE` or the API. Imported rows live here, in the
shared kernel's own schema, because every service resolves places and scopes staff by village.
Every process reads them at start and again every `GUANJIA_REFERENCE_REFRESH` seconds (a cheap
look at the table's count and newest change first), so `load_reference()` stays a plain,
synchronous call that sees what was imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Float, String, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata, session_scope
from services.common.reference import loader
from services.common.reference.importing import ConcurrentImport
from services.common.settings import get_settings
from services.contracts.reference import ImportReport, VillageRow

log = structlog.get_logger(__name__)


class Base(DeclarativeBase):
    """The shared kernel's reference tables."""

    metadata = service_metadata("reference")


class VillageRecord(Base):
    """An imported village (村) or community (社区); same fields as `villages.csv`."""

    __tablename__ = "villages"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    town_code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(50))
    type: Mapped[str] = mapped_column(String(12))
    aliases: Mapped[list[str]] = mapped_column(JSONB)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    grid_prefix: Mapped[str] = mapped_column(String(40))
    imported_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


def _fields(row: VillageRow) -> dict[str, Any]:
    return {
        "town_code": row.town_code,
        "name": row.name,
        "type": row.type,
        "aliases": list(row.aliases),
        "lat": row.lat,
        "lng": row.lng,
        "grid_prefix": row.grid_prefix,
    }


async def import_villages(
    session: AsyncSession, rows: Sequence[VillageRow], *, by: str, dry_run: bool = False
) -> ImportReport:
    """Create the new rows, update the changed ones, leave equal ones alone (no deletes)."""
    codes = [r.code for r in rows]
    known = {
        v.code: v
        for v in (
            await session.scalars(
                select(VillageRecord).where(VillageRecord.code.in_(codes)).with_for_update()
            )
        ).all()
    }
    created = updated = 0
    for row in rows:
        fields = _fields(row)
        record = known.get(row.code)
        if record is None:
            created += 1
            if not dry_run:
                session.add(VillageRecord(code=row.code, imported_by=by, **fields))
        elif any(getattr(record, k) != v for k, v in fields.items()):
            updated += 1
            if not dry_run:
                for key, value in fields.items():
                    setattr(record, key, value)
                record.imported_by, record.updated_at = by, func.now()
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConcurrentImport() from exc
    return ImportReport(
        kind="villages",
        rows=len(rows),
        created=created,
        updated=updated,
        unchanged=len(rows) - created - updated,
        dry_run=dry_run,
    )


_seen: dict[str, Any] = {"mark": None}


def _village(record: VillageRecord) -> loader.Village:
    return loader.Village(
        code=record.code,
        town_code=record.town_code,
        name=record.name,
        type=record.type,  # type: ignore[arg-type]
        aliases=tuple(record.aliases),
        lat=record.lat,
        lng=record.lng,
        grid_prefix=record.grid_prefix,
    )


async def refresh(session: AsyncSession | None = None) -> bool:
    """Lay the imported villages over the shipped ones if they changed; True when they did."""
    if session is None:
        async with session_scope() as own:
            return await refresh(own)
    # A digest of every row's code and change time: an update committed late, with an older
    # timestamp than the newest seen, still changes it (a count and a max would not).
    stamp = VillageRecord.code + "@" + cast(VillageRecord.updated_at, String)
    joined = func.string_agg(stamp, aggregate_order_by(literal(","), VillageRecord.code))
    mark = await session.scalar(select(func.md5(func.coalesce(joined, ""))))
    if mark == _seen["mark"]:
        return False
    records = (await session.scalars(select(VillageRecord).order_by(VillageRecord.code))).all()
    loader.use_imported_villages([_village(r) for r in records])
    _seen["mark"] = mark
    log.info("reference_villages_refreshed", imported=len(records))
    return True


async def keep_fresh(stop: asyncio.Event | None = None) -> None:
    """Refresh now and every `GUANJIA_REFERENCE_REFRESH` seconds until `stop` (or cancellation).
    A failed look (no table yet, database away) is logged and tried again next time."""
    every = get_settings().reference_refresh_s
    while True:
        try:
            await refresh()
        except Exception as exc:
            log.warning("reference_refresh_failed", error=repr(exc))
        if stop is None:
            await asyncio.sleep(every)
        else:
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
                return
            except TimeoutError:
                continue
