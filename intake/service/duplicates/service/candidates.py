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
from sqlalchemy import ARRAY, BigInteger, ColumnElement, Integer, Uuid, bindparam, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import get_intake_settings
from intake.models import Appeal, Fingerprint, Reporter
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.scorer import Match
from intake.service.duplicates.similarity import Doc, analyse, doc_from_stored
from services.common.db import UTCDateTime

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


# The candidate lookup is the function `intake.duplicate_candidates` (migration 5c3e8a1d9b27): per
# tier of keys, the newest fingerprints within the window sharing one, capped; their union, with the
# columns scoring needs. It reads the keys' time buckets newest first and stops once a tier has its
# cap (a bucket's keys find only appeals that arrived within it), since at 1,000,000 appeals the
# town-wide keys of a common need match thousands of rows over the whole window. Its own SET
# clauses keep the GIN index the only path, with no JIT and no parallel workers, while it runs: a
# plan made for one arrival's keys misjudges how many rows share them (about 150,000 of 1,000,000
# where 20-250 do), so it would otherwise read the whole table, JIT-compile the statement (about
# 50 ms) and start parallel workers (about 100 ms before the first row). Setting them here took a
# round trip before the statement and one after (README).
_BY_KEYS = (
    text(
        "SELECT * FROM intake.duplicate_candidates(:fine, :fine_ends, :fine_cap, :coarse, :coarse_ends, "
        ":coarse_cap, :since, :until, :arrival)"
    )
    .bindparams(
        bindparam("fine", type_=ARRAY(BigInteger)),
        bindparam("fine_ends", type_=ARRAY(Integer)),
        bindparam("coarse", type_=ARRAY(BigInteger)),
        bindparam("coarse_ends", type_=ARRAY(Integer)),
        bindparam("since", type_=UTCDateTime),
        bindparam("until", type_=UTCDateTime),
        bindparam("arrival", type_=Uuid),
    )
    .columns(*_EARLIER_COLUMNS)
)


def _flattened(buckets: list[list[int]]) -> tuple[list[int], list[int]]:
    """Keys of several buckets as one array, and where each bucket's keys end (1-based)."""
    flat: list[int] = []
    ends: list[int] = []
    for keys in buckets:
        flat += keys
        ends.append(len(flat))
    return flat, ends


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
    window = get_intake_settings().duplicate_window_days
    by_bucket = lsh.query_keys_by_bucket(doc, appeal.received_at, window)
    fine, fine_ends = _flattened([f for f, _ in by_bucket])
    coarse, coarse_ends = _flattened([c for _, c in by_bucket])
    mine = await _same_person_appeals(session, appeal, people)
    rows: list[Earlier] = []
    if fine or coarse:
        # One call: both tiers of keys through the GIN index (each with its own cap, so a flood
        # of same-concept appeals in a big town cannot crowd out the one from the same street),
        # then the rows by primary key.
        found = await session.execute(
            _BY_KEYS,
            {
                "fine": fine,
                "fine_ends": fine_ends,
                "fine_cap": MAX_FINE,
                "coarse": coarse,
                "coarse_ends": coarse_ends,
                "coarse_cap": MAX_COARSE,
                "since": appeal.received_at - timedelta(days=window),
                "until": appeal.received_at,
                "arrival": appeal.id,
            },
        )
        rows += [Earlier(*row) for row in found]
    missing = mine - {e.id for e in rows}
    if missing:
        rows += await _earlier(session, Appeal.id.in_(missing))
    out = []
    for e in rows:
        gap = (appeal.received_at - e.received_at).total_seconds() / 3600
        match = scorer.score(e.doc(), doc, same_person=e.id in mine, gap_hours=gap)
        out.append(Candidate(e, match, e.id in mine))
    return sorted(out, key=lambda c: (-c.match.score, c.appeal.received_at))
