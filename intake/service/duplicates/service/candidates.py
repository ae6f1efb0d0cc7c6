"""Candidate lookup: the earlier appeals an arrival is compared with, found and scored.

Those sharing a key within the window, through the GIN index (each tier of keys with its own cap),
plus the same person's earlier appeals (phone / ID lookup hash, openid); rebuilt from their stored
fingerprints and scored by the fitted model (`scorer`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import LRUCache
from sqlalchemy import ColumnElement, Select, or_, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import get_intake_settings
from intake.models import Appeal, Fingerprint, Reporter
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.scorer import Match
from intake.service.duplicates.similarity import Doc, analyse, doc_from_stored

MAX_FINE = 30  # candidates by the selective keys (village, cell, place, person)
MAX_COARSE = 30  # candidates by the town-wide keys (concept, family, bands)


def doc_of(appeal: Appeal) -> Doc:
    """Analyse an appeal's text and place."""
    return analyse(
        appeal.title,
        appeal.description,
        appeal.address,
        town_code=appeal.town_code,
        village_code=appeal.village_code,
        lat=appeal.lat,
        lng=appeal.lng,
        datum=appeal.datum,
    )


@dataclass(frozen=True)
class Earlier:
    """What scoring needs of an earlier appeal (a few columns, not the whole record: a lookup
    loads dozens of them)."""

    id: uuid.UUID
    received_at: datetime
    town_code: str | None
    village_code: str | None
    lat: float | None
    lng: float | None
    datum: str
    tokens: list[str]
    text: str

    def doc(self) -> Doc:
        """The stored analysis, rebuilt (remembered: a fingerprint's tokens and text never change
        after arrival, and the same recent appeals of a town are candidates of arrival after
        arrival; the place is part of the key, since staff may correct it)."""
        place = (self.id, self.town_code, self.village_code, self.lat, self.lng, self.datum)
        doc = _rebuilt.get(place)
        if doc is None:
            doc = doc_from_stored(
                self.tokens,
                self.text,
                town_code=self.town_code,
                village_code=self.village_code,
                lat=self.lat,
                lng=self.lng,
                datum=self.datum,
            )
            _rebuilt[place] = doc
        return doc


# Rebuilt candidates, per process: a lookup scores up to MAX_FINE + MAX_COARSE of them, and
# rebuilding was a third of its CPU (README, Intake).
_rebuilt: LRUCache[tuple[object, ...], Doc] = LRUCache(maxsize=4096)  # about 8 KB each


_EARLIER_COLUMNS = (
    Appeal.id,
    Appeal.received_at,
    Appeal.town_code,
    Appeal.village_code,
    Appeal.lat,
    Appeal.lng,
    Appeal.datum,
    Fingerprint.tokens,
    Fingerprint.text,
)


@dataclass(frozen=True)
class Candidate:
    """A scored earlier appeal."""

    appeal: Earlier
    match: Match
    same_person: bool


async def _same_person_appeals(
    session: AsyncSession, appeal: Appeal, people: Sequence[Reporter]
) -> set[uuid.UUID]:
    conds = []
    for p in people:
        if p.relation != "reporter" or p.anonymous:
            continue
        if p.phone_hash:
            conds.append(Reporter.phone_hash == p.phone_hash)
        if p.id_number_hash:
            conds.append(Reporter.id_number_hash == p.id_number_hash)
        if p.openid:
            conds.append(Reporter.openid == p.openid)
    if not conds:
        return set()
    since = appeal.received_at - timedelta(days=get_intake_settings().repeat_window_days)
    rows = await session.scalars(
        select(Reporter.appeal_id)
        .join(Appeal, Appeal.id == Reporter.appeal_id)
        .where(
            or_(*conds), Reporter.relation == "reporter", Appeal.id != appeal.id, Appeal.received_at >= since
        )
        .order_by(Appeal.received_at.desc())
        .limit(20)
    )
    return set(rows.all())


def _by_keys(appeal: Appeal, keys: list[int], cap: int) -> Select[uuid.UUID]:
    since = appeal.received_at - timedelta(days=get_intake_settings().duplicate_window_days)
    return (
        select(Fingerprint.appeal_id)
        .where(
            Fingerprint.keys.overlap(keys),
            Fingerprint.received_at >= since,
            Fingerprint.received_at <= appeal.received_at,
            Fingerprint.appeal_id != appeal.id,
        )
        .order_by(Fingerprint.received_at.desc())
        .limit(cap)
    )


# For the lookup statement only (one round trip each way). A plan made for one arrival's keys
# misjudges how many rows share them (about 150,000 of 1,000,000 where 20-250 do), so beyond a
# sequential scan it would JIT-compile the statement (about 50 ms) and start parallel workers
# (about 100 ms before the first row): the slowest lookups of the benchmark (README).
_LOOKUP_SETTINGS = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)
_DEFAULT_SETTINGS = text(
    "SELECT count(set_config(name, reset_val, true)) FROM pg_settings WHERE name IN "
    "('enable_seqscan', 'jit', 'max_parallel_workers_per_gather')"
)


async def _earlier(session: AsyncSession, where: ColumnElement[bool]) -> list[Earlier]:
    rows = await session.execute(
        select(*_EARLIER_COLUMNS).join(Fingerprint, Fingerprint.appeal_id == Appeal.id).where(where)
    )
    return [Earlier(*row) for row in rows]


async def find_candidates(
    session: AsyncSession, appeal: Appeal, doc: Doc, people: Sequence[Reporter] = ()
) -> list[Candidate]:
    """Earlier appeals sharing a key within the window (GIN index; each tier capped) or filed by
    the same person, scored."""
    fine, coarse = lsh.query_keys(doc, appeal.received_at, get_intake_settings().duplicate_window_days)
    mine = await _same_person_appeals(session, appeal, people)
    tiers = [_by_keys(appeal, k, cap) for k, cap in ((fine, MAX_FINE), (coarse, MAX_COARSE)) if k]
    rows: list[Earlier] = []
    if tiers:
        # One statement: both tiers of keys through the GIN index (each with its own cap, so a
        # flood of same-concept appeals in a big town cannot crowd out the one from the same
        # street), then the rows by primary key. The GIN index is the only path: a plan made for
        # one arrival's keys could otherwise misjudge how many rows share them and read the whole
        # table (README).
        ids = union(*tiers) if len(tiers) > 1 else tiers[0]
        await session.execute(_LOOKUP_SETTINGS)
        try:
            rows += await _earlier(session, Appeal.id.in_(ids))
        finally:
            await session.execute(_DEFAULT_SETTINGS)
    missing = mine - {e.id for e in rows}
    if missing:
        rows += await _earlier(session, Appeal.id.in_(missing))
    out = []
    for e in rows:
        gap = (appeal.received_at - e.received_at).total_seconds() / 3600
        match = scorer.score(e.doc(), doc, same_person=e.id in mine, gap_hours=gap)
        out.append(Candidate(e, match, e.id in mine))
    return sorted(out, key=lambda c: (-c.match.score, c.appeal.received_at))
