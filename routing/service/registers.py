"""Importing the city's registers (issue 16.12): villages, 莞家驿站 stations, 爱心资源库 donors.

Rows arrive typed (parsed from CSV / XLSX by `services.common.reference.importing`, or sent as
JSON), are checked again here against the reference data in force, and are applied in the
caller's transaction: all rows or none. Equal rows change nothing, changed rows update, new rows
are created; nothing is deleted (a station is retired with `active` false). Imported donors are
verified (the city's own register vouches for them) and get an `X-Donor-Key`, shown once.

A donors import sent with an `Idempotency-Key` runs once per key (`import_donors_once`, the
kernel's `run_command`): a retry after a lost answer gets the first report again, the new keys
included, where a plain second import would only find the donors unchanged. The kernel keeps the
answer in `routing.commands`; the keys in it are encrypted as personal data is
(`services.common.crypto`), so the table holds no usable key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import Donor, Station, commands, messaging
from routing.service import donors as donor_service
from services.common.auth import Principal
from services.common.crypto import decrypt_pii_text, encrypt_pii_text
from services.common.errors import Forbidden
from services.common.idempotency import CommandStore, Effect, Outcome, run_command, scoped_key
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.common.reference import store as reference_store
from services.common.reference.importing import ConcurrentImport, validate_rows
from services.contracts.reference import DonorRow, ImportReport, IssuedKey, StationRow, VillageRow


def may_import(principal: Principal) -> None:
    """The registers are the city's: its admins import them."""
    if principal.role != "city_admin":
        raise Forbidden("只有市级管理员可以导入基础数据。")


async def import_villages(
    session: AsyncSession, principal: Principal, rows: Sequence[VillageRow], *, dry_run: bool
) -> ImportReport:
    """Villages and communities into the shared reference table; this process sees them at once."""
    may_import(principal)
    validate_rows("villages", rows, load_reference())
    report = await reference_store.import_villages(session, rows, by=principal.username, dry_run=dry_run)
    if not dry_run:
        await reference_store.refresh(session)
    return report


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent import created the same key first; the whole import is rolled back.
        raise ConcurrentImport() from exc


def _station_fields(row: StationRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "town_code": row.town_code,
        "village_code": row.village_code,
        "services": list(dict.fromkeys(row.services)),
        "team": [m.model_dump() for m in row.team],
        "active": row.active,
    }


async def import_stations(
    session: AsyncSession, principal: Principal, rows: Sequence[StationRow], *, dry_run: bool
) -> ImportReport:
    """Stations by their code."""
    may_import(principal)
    await reference_store.refresh(session)  # villages imported a moment ago count
    validate_rows("stations", rows, load_reference())
    known = {
        s.code: s
        for s in (
            await session.scalars(
                select(Station).where(Station.code.in_([r.code for r in rows])).with_for_update()
            )
        ).all()
    }
    created = updated = 0
    for row in rows:
        fields = _station_fields(row)
        station = known.get(row.code)
        if station is None:
            created += 1
            if not dry_run:
                session.add(Station(code=row.code, **fields))
        elif any(getattr(station, k) != v for k, v in fields.items()):
            updated += 1
            if not dry_run:
                for key, value in fields.items():
                    setattr(station, key, value)
                station.updated_at = utcnow()
    await _flush(session)
    return ImportReport(
        kind="stations",
        rows=len(rows),
        created=created,
        updated=updated,
        unchanged=len(rows) - created - updated,
        dry_run=dry_run,
    )


def _donor_fields(row: DonorRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "name": row.name,
        "credit_code": row.credit_code,
        "pool": row.pool,
        "town_code": row.town_code if row.pool == "town" else None,
    }


async def import_donors(
    session: AsyncSession, principal: Principal, rows: Sequence[DonorRow], *, dry_run: bool
) -> ImportReport:
    """Donors by the register's number; a new one is verified and gets its key (shown once)."""
    may_import(principal)
    validate_rows("donors", rows, load_reference())
    known = {
        d.register_code: d
        for d in (
            await session.scalars(
                select(Donor)
                .where(Donor.register_code.in_([r.register_code for r in rows]))
                .with_for_update()
            )
        ).all()
    }
    created = updated = 0
    issued: list[IssuedKey] = []
    now = utcnow()
    for row in rows:
        fields = _donor_fields(row)
        donor = known.get(row.register_code)
        if donor is None:
            created += 1
            if dry_run:
                continue
            prefix, key, key_hash = donor_service.new_key()
            donor = Donor(
                id=uuid.uuid4(),
                register_code=row.register_code,
                key_prefix=prefix,
                key_hash=key_hash,
                state="verified",
                verified_at=now,
                verified_by=principal.username,
                **fields,
            )
            session.add(donor)
            issued.append(IssuedKey(register_code=row.register_code, donor_id=donor.id, key=key))
        elif any(getattr(donor, k) != v for k, v in fields.items()):
            updated += 1
            if not dry_run:
                for field_name, value in fields.items():
                    setattr(donor, field_name, value)
    await _flush(session)
    return ImportReport(
        kind="donors",
        rows=len(rows),
        created=created,
        updated=updated,
        unchanged=len(rows) - created - updated,
        dry_run=dry_run,
        issued_keys=issued,
    )


DONOR_IMPORT: Final = "import_donors"


def _sealed(report: ImportReport) -> ImportReport:
    """The report as the command table keeps it: each new key encrypted."""
    keys = [k.model_copy(update={"key": encrypt_pii_text(k.key)}) for k in report.issued_keys]
    return report.model_copy(update={"issued_keys": keys})


def _opened(body: dict[str, Any]) -> dict[str, Any]:
    """A kept report as it is answered: each new key decrypted."""
    keys = [{**k, "key": decrypt_pii_text(k["key"])} for k in body.get("issued_keys", [])]
    return {**body, "issued_keys": keys}


async def import_donors_once(
    session: AsyncSession,
    principal: Principal,
    rows: Sequence[DonorRow],
    *,
    dry_run: bool,
    idempotency_key: str,
) -> Outcome:
    """`import_donors` once per `Idempotency-Key` of this admin: a replay with the same rows
    answers the first report, new donors' keys included; other rows under the key are `409`.
    Invalid rows consume no key (the corrected file is sent again under it); a refusal of
    another kind is the key's answer for good (the kernel's `run_command`)."""
    may_import(principal)  # someone else's attempt must not spend the admin's key

    async def execute(_digest: str) -> Effect:
        return Effect(result=_sealed(await import_donors(session, principal, rows, dry_run=dry_run)))

    outcome = await run_command(
        session,
        CommandStore(commands, messaging),
        operation=DONOR_IMPORT,
        key=scoped_key("donors", principal.username, idempotency_key),
        command={"rows": [r.model_dump(mode="json") for r in rows], "dry_run": dry_run},
        actor=principal.username[:128],
        execute=execute,
    )
    return outcome if outcome.failed else replace(outcome, body=_opened(outcome.body))
