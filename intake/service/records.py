"""Recording an appeal from any channel, once per (channel, channel_ref); finding one."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from intake.models import (
    Appeal,
    Attachment,
    PendingArrival,
    QuotedNumber,
    Reporter,
    TimelineEntry,
    messaging,
)
from intake.service.duplicates import service as duplicates
from intake.service.lifecycle import DESCRIPTIONS
from intake.service.privacy import redact_text
from intake.service.recording import column_values, record_rows, table_of
from intake.service.stats.cells import Facts
from intake.service.stats.recorder import count
from services.common.crypto import encrypt_pii, lookup_hash
from services.common.errors import IdempotencyConflict, NotFound
from services.common.messaging import utcnow
from services.common.personal import find_numbers, mask_id_number, mask_numbers_in, mask_phone
from services.common.timeutil import to_local
from services.contracts.appeals import AppealAccepted, AppealDraft
from services.contracts.appeals import Reporter as ReporterIn
from services.contracts.events import AppealReceived, make_event
from services.contracts.vocabulary import CHANNEL_NAMES


def draft_hash(draft: AppealDraft) -> str:
    """Canonical hash of a draft: the same message twice hashes the same."""
    canonical = json.dumps(
        draft.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_query_code() -> str:
    """Six digits a caller can read out on the phone (查询码)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def format_ticket(received_at: datetime, seq: int) -> str:
    """受理编号: `MS` + local date + sequence, e.g. MS20261127000042."""
    return f"MS{to_local(received_at):%Y%m%d}{seq:06d}"


def _reporter_row(appeal_id: uuid.UUID, relation: str, person: ReporterIn) -> Reporter:
    return Reporter(
        appeal_id=appeal_id,
        relation=relation,
        name=person.name,
        phone_enc=encrypt_pii(person.phone) if person.phone else None,
        phone_hash=lookup_hash(person.phone) if person.phone else None,
        phone_masked=mask_phone(person.phone) if person.phone else None,
        id_number_enc=encrypt_pii(person.id_number) if person.id_number else None,
        id_number_hash=lookup_hash(person.id_number) if person.id_number else None,
        id_number_masked=mask_id_number(person.id_number) if person.id_number else None,
        openid=person.openid,
        hukou_local=person.hukou_local,
        anonymous=person.anonymous,
        confidential=person.confidential,
        role=person.role,
    )


def _free_texts(draft: AppealDraft) -> list[str]:
    """Every piece of free text of a draft that is kept, in a stable order."""
    texts = [
        draft.title,
        draft.description,
        draft.transcript,
        draft.location.address,
        draft.beneficiary_group,
        draft.help_requested,
        draft.category_hint,
    ]
    return [t for t in texts if t] + list(_strings(draft.channel_extra))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _masked(value: Any) -> Any:
    """Free text (or a JSON value's strings) with every phone and ID number masked."""
    return None if value is None else mask_numbers_in(value)


def _quoted_rows(appeal_id: uuid.UUID, draft: AppealDraft) -> list[QuotedNumber]:
    """The full numbers written in the draft's words, once each, encrypted (DESIGN §7)."""
    seen: set[tuple[str, str]] = set()
    ordinals = {"phone": 0, "id_number": 0}
    rows = []
    for piece in _free_texts(draft):
        for number in find_numbers(piece):
            if (number.kind, number.value) in seen:
                continue
            seen.add((number.kind, number.value))
            ordinals[number.kind] += 1
            rows.append(
                QuotedNumber(
                    appeal_id=appeal_id,
                    kind=number.kind,
                    ordinal=ordinals[number.kind],
                    value_enc=encrypt_pii(number.value),
                    value_hash=lookup_hash(number.value),
                    masked=number.masked,
                )
            )
    return rows


async def _existing(
    session: AsyncSession | AsyncConnection, draft: AppealDraft, digest: str
) -> AppealAccepted | None:
    found = (
        await session.execute(
            select(Appeal.id, Appeal.ticket_no, Appeal.query_code, Appeal.draft_hash).where(
                Appeal.channel == draft.channel, Appeal.channel_ref == draft.channel_ref
            )
        )
    ).first()
    if found is None:
        return None
    if found.draft_hash != digest:
        raise IdempotencyConflict()
    return AppealAccepted(appeal_id=found.id, ticket_no=found.ticket_no, query_code=found.query_code)


def _new_appeal(draft: AppealDraft, digest: str, now: datetime, ticket_no: str) -> Appeal:
    loc = draft.location
    return Appeal(
        id=uuid.uuid4(),
        ticket_no=ticket_no,
        query_code=new_query_code(),
        channel=draft.channel,
        channel_ref=draft.channel_ref,
        draft_hash=digest,
        received_at=now,
        reported_at=draft.reported_at,
        status="received",
        status_changed_at=now,
        urgency=draft.urgency or "normal",
        # The words are kept with phone and ID numbers masked; the full numbers go to
        # `quoted_numbers`, encrypted (DESIGN §7: no plaintext number at rest).
        title=_masked(draft.title),
        description=_masked(draft.description),
        transcript=_masked(draft.transcript),
        address=_masked(loc.address),
        town_code=loc.town_code,
        village_code=loc.village_code,
        lat=loc.lat,
        lng=loc.lng,
        datum=loc.datum,
        grid_code=loc.grid_code,
        beneficiary_count=draft.beneficiary_count,
        beneficiary_group=_masked(draft.beneficiary_group),
        help_requested=_masked(draft.help_requested),
        estimated_amount_fen=draft.estimated_amount_fen,
        category_hint=_masked(draft.category_hint),
        callback_requested=draft.callback_requested,
        channel_extra=_masked(draft.channel_extra),
        round=1,
        returns_count=0,
        version=1,
    )


def _received_event(appeal: Appeal, draft: AppealDraft) -> AppealReceived:
    # Free text leaves intake with phone and ID numbers and the reporters' names masked.
    names = [draft.reporter.name, draft.on_behalf_of.name if draft.on_behalf_of else None]
    loc = draft.location
    return AppealReceived(
        ticket_no=appeal.ticket_no,
        channel=draft.channel,
        received_at=appeal.received_at,
        title=redact_text(draft.title, names),
        description=redact_text(draft.description, names) or "",
        address=redact_text(loc.address, names),
        category_hint=draft.category_hint,
        town_code=loc.town_code,
        village_code=loc.village_code,
        lat=loc.lat,
        lng=loc.lng,
        datum=loc.datum,
        grid_code=loc.grid_code,
        urgency_hint=draft.urgency,
        beneficiary_count=draft.beneficiary_count,
        estimated_amount_fen=draft.estimated_amount_fen,
        station_code=_station_of(draft),
    )


def _station_of(draft: AppealDraft) -> str | None:
    # Only a station's own door names its station: the gateway writes it from the worker's
    # account, never from the body.
    if draft.channel != "station_walk_in":
        return None
    code = draft.channel_extra.get("station_code")
    return code if isinstance(code, str) and code else None


# Ticket numbers are drawn from the sequence a block at a time and handed out in this process:
# one round trip in TICKET_BLOCK recordings instead of one in each. A block not used up when the
# process stops leaves a gap, as a rolled-back nextval() always could; numbers stay unique.
TICKET_BLOCK = 20
_NEXT_TICKETS = text("SELECT nextval('intake.ticket_seq') FROM generate_series(1, :n)")
# Per database: numbers drawn from one database's sequence are never used in another's.
_tickets: dict[tuple[str | None, int | None, str | None], deque[int]] = {}


async def next_ticket_seq(session: AsyncSession | AsyncConnection) -> int:
    """The next ticket sequence number of this process (see `TICKET_BLOCK`)."""
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    url = bind.engine.url
    held = _tickets.setdefault((url.host, url.port, url.database), deque())
    if not held:
        drawn = (await session.execute(_NEXT_TICKETS, {"n": TICKET_BLOCK})).scalars().all()
        held.extend(sorted(int(n) for n in drawn))
    return held.popleft()


async def create_appeal(
    session: AsyncSession | AsyncConnection, draft: AppealDraft
) -> tuple[AppealAccepted, bool]:
    """Record a draft as an appeal, once per (channel, channel_ref). Returns (answer, created).

    Only what the answer needs, in one statement: the appeal, its reporters (phone and ID
    encrypted), the numbers written in the words (masked in the text, encrypted in
    `quoted_numbers`), attachments, the first timeline entry and `appeal.received`. The counters
    and duplicate detection follow after the commit (`after_received`, intake's own worker).

    One statement, every row at once (`recording.record_rows`), and one more when this process
    draws its next block of ticket numbers (`next_ticket_seq`). A message already recorded (or a
    concurrent twin that commits first) inserts nothing and is answered as recorded, or refused
    when its content differs. The recording statement is atomic by itself, so `session` may be a
    connection in autocommit (`services.common.db.autocommit`: one round trip and no BEGIN or
    COMMIT) or a unit of work that records more (a meeting's batch).
    """
    digest = draft_hash(draft)
    now = utcnow()
    seq = await next_ticket_seq(session)
    appeal = _new_appeal(draft, digest, now, format_ticket(now, seq))
    people = [_reporter_row(appeal.id, "reporter", draft.reporter)]
    if draft.on_behalf_of is not None:
        people.append(_reporter_row(appeal.id, "on_behalf_of", draft.on_behalf_of))
    entry = TimelineEntry(
        appeal_id=appeal.id,
        at=now,
        from_status=None,
        to_status="received",
        actor=f"channel:{draft.channel}",
        public_description=f"{DESCRIPTIONS['received']}（{CHANNEL_NAMES[draft.channel]}），受理编号 {appeal.ticket_no}",
        public=True,
        round=1,
    )
    event = make_event("appeal.received", "intake", _received_event(appeal, draft), appeal_id=appeal.id)
    children: list[tuple[Table, list[dict[str, Any]]]] = [
        (table_of(Reporter), [column_values(p) for p in people]),
        (table_of(QuotedNumber), [column_values(q) for q in _quoted_rows(appeal.id, draft)]),
        (
            table_of(Attachment),
            [{"id": uuid.uuid4(), "appeal_id": appeal.id, **att.model_dump()} for att in draft.attachments],
        ),
        (table_of(TimelineEntry), [column_values(entry)]),
        (
            table_of(PendingArrival),
            [
                {
                    "appeal_id": appeal.id,
                    "town_key": _town_key(appeal.town_code),
                    "received_at": now,
                    "channel": appeal.channel,
                    "town_code": appeal.town_code,
                    "village_code": appeal.village_code,
                }
            ],
        ),
        (
            messaging.outbox,
            [
                {
                    "event_id": event.id,
                    "type": event.type,
                    "appeal_id": event.appeal_id,
                    "payload": event.model_dump(mode="json"),
                }
            ],
        ),
    ]
    if not await record_rows(session, column_values(appeal), children):
        known = await _existing(session, draft, digest)
        if known is None:
            raise IdempotencyConflict()  # never reached: the conflicting row is committed
        return known, False
    return AppealAccepted(appeal_id=appeal.id, ticket_no=appeal.ticket_no, query_code=appeal.query_code), True


async def after_received(session: AsyncSession, appeal_id: uuid.UUID) -> int:
    """What follows recording an appeal, after the caller has its ticket (intake's worker, once per
    `appeal.received`): the counters, then the fingerprint and duplicate detection, which may link
    the appeal to a master (its public `duplicate_of` appears then), suggest candidates to staff,
    or flag a repeat of the same person. Returns how many arrivals it analysed.

    A town's arrivals are analysed one at a time (an advisory lock per town) and in the order they
    were received, so each sees the fingerprints of those before it, as when detection ran in the
    recording transaction: whoever holds the town's lock first also analyses the town's earlier
    arrivals still pending (their own jobs then find nothing left to do). Taken before any appeal
    row is locked, so it never waits in a cycle with the other handlers."""
    town_key = await session.scalar(
        select(PendingArrival.town_key).where(PendingArrival.appeal_id == appeal_id)
    )
    if town_key is None:
        return 0  # analysed already
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _analysis_lock(town_key)})
    mine = await session.get(PendingArrival, appeal_id, populate_existing=True)
    if mine is None:
        return 0  # analysed meanwhile, by an arrival of the town that came later
    # Earlier ones that keep failing must not hold the town up: only a recent few are caught up.
    queue = (
        await session.scalars(
            select(PendingArrival)
            .where(
                PendingArrival.town_key == town_key,
                PendingArrival.received_at <= mine.received_at,
                PendingArrival.received_at >= mine.received_at - CATCH_UP_WINDOW,
            )
            .order_by(PendingArrival.received_at, PendingArrival.appeal_id)
            .limit(CATCH_UP_MAX)
        )
    ).all()
    if mine not in queue:
        queue = [*queue[:-1], mine]
    for pending in queue:
        await _analyse(session, pending)
    return len(queue)


# How far back, and how many, of a town's pending arrivals an arrival analyses before its own.
CATCH_UP_WINDOW = timedelta(seconds=60)
CATCH_UP_MAX = 50


async def _analyse(session: AsyncSession, pending: PendingArrival) -> None:
    appeal = await get_appeal(session, pending.appeal_id, lock=True)
    # Counted as the channel recorded it, whatever triage may have changed since: triage counts
    # its own findings (intake.handlers.on_triaged).
    facts = Facts(
        channel=pending.channel,
        kind=None,
        category=None,
        town_code=pending.town_code,
        village_code=pending.village_code,
        holder_type=None,
        holder_code=None,
    )
    await count(session, facts, appeal.received_at, {"received": 1}, dims=("all", "channel"))
    people = (await session.scalars(select(Reporter).where(Reporter.appeal_id == appeal.id))).all()
    await duplicates.on_arrival(session, appeal, people)
    await session.delete(pending)
    await session.flush()


def _town_key(town_code: str | None) -> str:
    return town_code or "-"


def _analysis_lock(town_key: str) -> int:
    """The advisory lock key of a town's duplicate analysis."""
    digest = hashlib.blake2b(f"intake.duplicates:{town_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def get_appeal(session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False) -> Appeal:
    """An appeal by id; NotFound otherwise."""
    stmt = select(Appeal).where(Appeal.id == appeal_id)
    if lock:
        stmt = stmt.with_for_update()
    appeal = await session.scalar(stmt)
    if appeal is None:
        raise NotFound()
    return appeal


async def get_by_ticket(session: AsyncSession, ticket_no: str, *, lock: bool = False) -> Appeal:
    """An appeal by its ticket number (locked for a command when `lock`); NotFound otherwise."""
    stmt = select(Appeal).where(Appeal.ticket_no == ticket_no)
    appeal = await session.scalar(stmt.with_for_update() if lock else stmt)
    if appeal is None:
        raise NotFound()
    return appeal
