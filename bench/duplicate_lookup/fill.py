"""Filling a scratch database: generated appeals and their fingerprints, loaded with COPY.

Rows are made in worker processes (:func:`init_worker` analyses the text pool once and memoises
MinHash signatures, which depend on the text only; :func:`generate` makes a deterministic chunk
of appeals with places of their own), while :func:`load` copies the chunks in and builds the
GIN index afterwards, as intake's own code would have stored each appeal on arrival.
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from intake.models import Appeal
from intake.service.duplicates import lsh
from intake.service.duplicates.service import doc_of
from intake.service.duplicates.similarity import Doc, analyse, stored_tokens
from routing.service.classifier.data import heldout_examples, training_examples
from services.common.messaging import utcnow
from services.common.reference import load_reference

CHUNK = 25_000
IN_FLIGHT = 3
YEAR_S = 365 * 86400
WITH_POINT = 0.6  # share of appeals with coordinates (mini-program, inspectors); the rest by village
SPREAD_DEG = 0.006  # standard deviation of a point around its village's centroid (~650 m)
CHANNELS = [
    "hotline_12345",
    "wechat_official",
    "wechat_miniprogram",
    "web_portal",
    "grid_inspector",
    "village_visit",
]
APPEAL_COLUMNS = (
    "id",
    "ticket_no",
    "query_code",
    "channel",
    "channel_ref",
    "draft_hash",
    "received_at",
    "status",
    "status_changed_at",
    "kind",
    "category",
    "urgency",
    "title",
    "description",
    "address",
    "town_code",
    "village_code",
    "lat",
    "lng",
    "datum",
    "callback_requested",
    "channel_extra",
    "version",
    "round",
    "returns_count",
    "closed_unrated",
    "withheld",
    "funds_used_fen",
)
FINGERPRINT_COLUMNS = ("appeal_id", "received_at", "tokens", "text", "keys")

Row = tuple[Any, ...]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rows_of(appeal: Appeal, doc: Doc, kind: str | None, category: str | None) -> tuple[Row, Row]:
    """An appeal's row and its fingerprint's row, as `duplicates.service.on_arrival` stores it."""
    closed = appeal.received_at < utcnow() - timedelta(days=20)
    appeal_row = (
        appeal.id,
        appeal.ticket_no,
        "000000",
        appeal.channel,
        appeal.channel_ref,
        "x",
        appeal.received_at,
        "closed" if closed else "in_progress",
        appeal.received_at,
        kind,
        category,
        "normal",
        appeal.title,
        appeal.description,
        appeal.address,
        appeal.town_code,
        appeal.village_code,
        appeal.lat,
        appeal.lng,
        appeal.datum,
        False,
        "{}",
        1,
        1,
        0,
        False,
        False,
        0,
    )
    fingerprint_row = (
        appeal.id,
        appeal.received_at,
        stored_tokens(doc),
        doc.text,
        lsh.keys(doc, appeal.received_at),
    )
    return appeal_row, fingerprint_row


_POOL: list[tuple[str | None, str, str, str, Doc]] = []


def init_worker() -> None:
    """Analyse the text pool once, and memoise MinHash signatures (they depend on the text only)."""
    examples = training_examples() + heldout_examples()
    _POOL[:] = [(e.title, e.text, e.kind, e.category, analyse(e.title, e.text)) for e in examples]
    signature = lsh.minhash
    memo: dict[frozenset[str], list[int]] = {}

    def memoised(elements: Iterable[str]) -> list[int]:
        key = frozenset(elements)
        found = memo.get(key)
        if found is None:
            found = memo[key] = signature(key)
        return found

    lsh.minhash = memoised


def generate(start: int, size: int, now: datetime) -> tuple[list[Row], list[Row]]:
    """Appeals `start` … `start + size - 1` (deterministic) and their fingerprints."""
    villages = load_reference().villages
    rng = random.Random(start)
    appeals, fingerprints = [], []
    for i in range(start, start + size):
        title, body, kind, category, text_doc = _POOL[rng.randrange(len(_POOL))]
        village = villages[rng.randrange(len(villages))]
        lat = lng = None
        if rng.random() < WITH_POINT:
            lat = round(village.lat + rng.gauss(0, SPREAD_DEG), 6)
            lng = round(village.lng + rng.gauss(0, SPREAD_DEG), 6)
        channel = CHANNELS[rng.randrange(len(CHANNELS))]
        appeal = Appeal(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            ticket_no=f"MSB{i:09d}",
            channel=channel,
            channel_ref=f"bench-{i}",
            received_at=now - timedelta(seconds=rng.randrange(YEAR_S)),
            title=title,
            description=body,
            address=None,
            town_code=village.town_code,
            village_code=village.code,
            lat=lat,
            lng=lng,
            datum="wgs84",
        )
        # What `analyse` gives for this text at this place (the text's analysis is place-free).
        doc = replace(text_doc, town_code=village.town_code, village_code=village.code, lat=lat, lng=lng)
        appeal_row, fingerprint_row = rows_of(appeal, doc, kind, category)
        appeals.append(appeal_row)
        fingerprints.append(fingerprint_row)
    return appeals, fingerprints


async def load(url: str, pool: ProcessPoolExecutor, n: int, now: datetime, firsts: list[Appeal]) -> None:
    """COPY `n` generated appeals (and `firsts`) with their fingerprints; GIN index built after."""
    conn = await asyncpg.connect(url)
    try:
        index_sql = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'intake' AND indexname = 'ix_fingerprints_keys'"
        )
        await conn.execute("DROP INDEX intake.ix_fingerprints_keys")

        async def copy(appeals: list[Row], fingerprints: list[Row]) -> None:
            await conn.copy_records_to_table(
                "appeals", schema_name="intake", columns=APPEAL_COLUMNS, records=appeals
            )
            await conn.copy_records_to_table(
                "fingerprints", schema_name="intake", columns=FINGERPRINT_COLUMNS, records=fingerprints
            )

        loop = asyncio.get_running_loop()
        starts = deque(range(0, n, CHUNK))
        running: deque[asyncio.Future[tuple[list[Row], list[Row]]]] = deque()
        done = 0
        while starts or running:
            while starts and len(running) < IN_FLIGHT:
                start = starts.popleft()
                running.append(loop.run_in_executor(pool, generate, start, min(CHUNK, n - start), now))
            chunk = await running.popleft()
            await copy(*chunk)
            done += len(chunk[0])
            if done % 200_000 < CHUNK:
                log(f"  {done} appeals loaded")
        rows = [rows_of(a, doc_of(a), None, None) for a in firsts]
        await copy([r[0] for r in rows], [r[1] for r in rows])
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(index_sql)
        await conn.execute("VACUUM ANALYZE intake.appeals")
        await conn.execute("VACUUM ANALYZE intake.fingerprints")
    finally:
        await conn.close()
