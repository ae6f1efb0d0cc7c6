"""Benchmark: the duplicate lookup an arrival makes, at 10 appeals and at 1,000,000 appeals.

Two scratch databases on the same PostgreSQL, migrated with Alembic (`bench.common`):
- **small**: 10 appeals;
- **large**: 1,000,000 appeals over the past year, spread over the 33 towns and 207 villages of
  `services/common/reference`, plus the first appeal of each labelled pair of
  `tests/data/duplicates.yaml`, received in the last week.
Every appeal is stored with its fingerprint (`intake.fingerprints`: tokens, text and LSH keys in
the GIN-indexed `bigint[]`) made by intake's own code (`similarity.analyse`, `stored_tokens`,
`lsh.keys`), loaded with COPY. The texts are the 754 appeals of `routing/data` (training and
held-out), analysed once each; each appeal takes one of them with a place of its own (village, its
town, and for 60% a point near the village, so its own grid cell). Analysis does not depend on the
place, and a MinHash signature depends only on the text, so signatures are memoised per text;
keys are still `lsh.keys` of each appeal's own place. Two worker processes generate the rows
while the main process copies them (a few minutes for 1,000,000).

Measured: the lookup intake makes on arrival (`intake.service.duplicates.service.find_candidates`: the
candidates sharing a key of the window's 10-day buckets — fine keys and coarse keys, each tier
capped — through the GIN index in one statement, then loaded (the columns scoring needs) and
scored by the fitted model),
for the later appeal of each labelled pair, arriving now, three rounds (336 asks), p50 / p99 / max
ms, at both sizes, after five unmeasured asks. Baselines, in the same run on the large database:
the same function with the GIN index dropped inside a rolled-back transaction (the same query, no
index; 3 asks, each reads every fingerprint), and a naive lookup without LSH keys that scores every
appeal of the village received within the window. EXPLAIN of the statement the function sends, as
the cached generic plan a connection settles on and as a custom plan for one arrival's keys (what
each connection's first five runs get). Also reported: how many labelled duplicates the lookup
still retrieves among 1,000,000 appeals (against how many the keys alone could, `lsh.may_meet`).

Prints JSON. Run: `.venv/bin/python -m bench.duplicate_lookup [appeals]` (PostgreSQL from
`GUANJIA_BENCH_PG`, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import random
import re
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bench.common import db_url, scratch_databases, summary
from intake.config import IntakeSettings
from intake.models import Appeal, Fingerprint
from intake.service.duplicates import lsh, scorer, similarity
from intake.service.duplicates.service import Candidate, doc_of, find_candidates
from intake.service.duplicates.similarity import Doc, analyse, doc_from_stored, stored_tokens
from routing.service.classifier.data import heldout_examples, training_examples
from services.common.db import async_url
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.common.settings import get_settings

PAIRS_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "duplicates.yaml"
SMALL = 10
ROUNDS = 3
BASELINE_ASKS = 20
NO_INDEX_ASKS = 3  # each reads every fingerprint: about a minute at 1,000,000
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
_KEYS_RE = re.compile(r"'\{[-0-9,]+\}'")  # an array of keys in EXPLAIN's output

Row = tuple[Any, ...]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- rows (any process)


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


# --------------------------------------------------------------------------- labelled pairs


def pairs() -> list[dict[str, Any]]:
    """The labelled pairs (tests/data/duplicates.yaml)."""
    return list(yaml.safe_load(PAIRS_FILE.read_text(encoding="utf-8"))["pairs"])


def appeal_of(raw: dict[str, Any], received_at: datetime, ticket: str) -> Appeal:
    """A pair's appeal as intake would hold it (village and its town, or the town alone)."""
    village, town = raw.get("v"), raw.get("t")
    if village:
        found = load_reference().village_by_code(village)
        assert found is not None, village
        town = found.town_code
    return Appeal(
        id=uuid.uuid4(),
        ticket_no=ticket,
        channel=raw.get("ch", "hotline_12345"),
        channel_ref=f"bench-{ticket}",
        received_at=received_at,
        title=None,
        description=raw["text"],
        address=raw.get("addr"),
        town_code=town,
        village_code=village,
        lat=raw.get("lat"),
        lng=raw.get("lng"),
        datum=raw.get("datum", "wgs84"),
    )


# --------------------------------------------------------------------------- loading


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


# --------------------------------------------------------------------------- measuring


Ask = tuple[Appeal, Doc]


async def lookup_ms(maker: async_sessionmaker[Any], ask: Ask) -> tuple[float, list[Candidate]]:
    """One lookup as intake makes it on arrival (its own session), timed."""
    appeal, doc = ask
    async with maker() as session:
        t0 = time.perf_counter()
        found = await find_candidates(session, appeal, doc)
        return (time.perf_counter() - t0) * 1000, found


async def without_gin_ms(maker: async_sessionmaker[Any], ask: Ask) -> float:
    """The same lookup with the GIN index dropped in a transaction that is rolled back."""
    appeal, doc = ask
    async with maker() as session:
        await session.execute(text("DROP INDEX intake.ix_fingerprints_keys"))
        t0 = time.perf_counter()
        await find_candidates(session, appeal, doc)
        elapsed = (time.perf_counter() - t0) * 1000
        await session.rollback()
    return elapsed


async def naive_ms(maker: async_sessionmaker[Any], ask: Ask) -> float:
    """No LSH keys: score every appeal of the village (else the town) received within the window."""
    appeal, doc = ask
    since = appeal.received_at - timedelta(days=get_settings(IntakeSettings).duplicate_window_days)
    place = (
        Appeal.village_code == appeal.village_code
        if appeal.village_code
        else Appeal.town_code == appeal.town_code
    )
    async with maker() as session:
        t0 = time.perf_counter()
        rows = (
            await session.execute(
                select(Appeal, Fingerprint)
                .join(Fingerprint, Fingerprint.appeal_id == Appeal.id)
                .where(place, Appeal.received_at >= since, Appeal.received_at <= appeal.received_at)
            )
        ).all()
        for a, fp in rows:
            stored = doc_from_stored(
                fp.tokens,
                fp.text,
                town_code=a.town_code,
                village_code=a.village_code,
                lat=a.lat,
                lng=a.lng,
                datum=a.datum,
            )
            scorer.score(stored, doc)
        return (time.perf_counter() - t0) * 1000


def _literal(value: Any) -> str:
    """A bound parameter as an SQL literal (EXECUTE takes no parameters of its own)."""
    if isinstance(value, list):
        return "'{" + ",".join(str(v) for v in value) + "}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    return f"'{value}'"


async def explain(engine: AsyncEngine, ask: Ask, plan: str) -> list[str]:
    """EXPLAIN of the candidate query `find_candidates` sends for `ask`, planned as
    - `generic`: the cached generic plan a connection settles on after five runs (ANALYZE);
    - `custom`: a plan for these very keys, as each connection's first five runs get (ANALYZE);
    - `no_index`: with the GIN index dropped in a rolled-back transaction (no ANALYZE)."""
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "&&" in statement and not captured:
            captured.append((statement, parameters))

    maker = async_sessionmaker(engine, expire_on_commit=False)
    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await lookup_ms(maker, ask)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    statement, parameters = captured[0]
    async with engine.connect() as conn:
        if plan == "generic":
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
            await raw.execute(f"PREPARE bench_lookup AS {statement}")
            args = ", ".join(_literal(v) for v in parameters)
            rows = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_lookup({args})")
            await raw.execute("DEALLOCATE bench_lookup; RESET plan_cache_mode; RESET enable_seqscan")
            lines = [str(r[0]) for r in rows]
        else:
            if plan == "no_index":
                await conn.execute(text("DROP INDEX intake.ix_fingerprints_keys"))
            else:  # as `find_candidates` sends it
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
            how = "EXPLAIN " if plan == "no_index" else "EXPLAIN (ANALYZE, BUFFERS) "
            lines = [str(r[0]) for r in (await conn.exec_driver_sql(how + statement, parameters)).all()]
            await conn.rollback()
    # The query's keys (a couple of hundred numbers) are shortened to their count.
    return [_KEYS_RE.sub(lambda m: f"'{{{m.group(0).count(',') + 1} keys}}'", line) for line in lines]


async def measure(url: str, asks: list[Ask], *, baselines: bool) -> dict[str, Any]:
    engine = create_async_engine(async_url(url), pool_size=2)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    out: dict[str, Any] = {}
    try:
        for ask in asks[:5]:
            await lookup_ms(maker, ask)
        samples, found = [], []
        for ask in asks:
            ms, candidates = await lookup_ms(maker, ask)
            samples.append(ms)
            found.append(candidates)
        out["lookup"] = summary(samples) | {"max_ms": round(max(samples), 3)}
        counts = sorted(len(c) for c in found)
        out["candidates_scored"] = {"p50": counts[len(counts) // 2], "max": counts[-1]}
        out["found"] = found
        if baselines:
            few = asks[:BASELINE_ASKS]
            no_index = [await without_gin_ms(maker, a) for a in asks[:NO_INDEX_ASKS]]
            out["baseline_without_gin_index"] = summary(no_index)
            await naive_ms(maker, few[0])
            out["baseline_naive_village_scan"] = summary([await naive_ms(maker, a) for a in few])
            for plan in ("generic", "custom", "no_index"):
                out[f"explain_{plan}"] = await explain(engine, asks[0], plan)
    finally:
        await engine.dispose()
    return out


async def run(n: int) -> dict[str, Any]:
    now = utcnow()
    labelled = pairs()
    rng = random.Random(7)
    firsts = [
        appeal_of(p["a"], now - timedelta(seconds=rng.randrange(3600, 7 * 86400)), f"MSA{i:05d}")
        for i, p in enumerate(labelled)
    ]
    laters = [appeal_of(p["b"], now, f"MSN{i:05d}") for i, p in enumerate(labelled)]
    similarity.warm_up()
    t0 = time.perf_counter()
    later_docs = [doc_of(a) for a in laters]
    analyse_ms = (time.perf_counter() - t0) * 1000 / len(laters)
    asks: list[Ask] = [(a, d) for _ in range(ROUNDS) for a, d in zip(laters, later_docs, strict=True)]
    context = multiprocessing.get_context("spawn")
    async with scratch_databases("guanjia_bench_dups", "small", "large") as names:
        with ProcessPoolExecutor(2, mp_context=context, initializer=init_worker) as pool:
            t0 = time.perf_counter()
            await load(db_url(names["small"]), pool, SMALL, now, [])
            log(f"loading {n} appeals …")
            await load(db_url(names["large"]), pool, n - len(firsts), now, firsts)
            fill_s = time.perf_counter() - t0
        log("measuring …")
        small = await measure(db_url(names["small"]), asks, baselines=False)
        large = await measure(db_url(names["large"]), asks, baselines=True)
    # Labelled duplicates: is the earlier appeal among the later one's candidates at 1,000,000?
    first_docs = [doc_of(a) for a in firsts]
    dup = [i for i, p in enumerate(labelled) if p["label"] == "duplicate"]
    retrievable = [i for i in dup if lsh.may_meet(first_docs[i], later_docs[i])]
    retrieved = [i for i in dup if any(c.appeal.id == firsts[i].id for c in large["found"][i])]
    p50_small, p50_large = small["lookup"]["p50_ms"], large["lookup"]["p50_ms"]
    return {
        "benchmark": "duplicate_lookup",
        "appeals_small": SMALL,
        "appeals_large": n,
        "villages": len(load_reference().villages),
        "towns": len(load_reference().towns),
        "fill_seconds": round(fill_s, 1),
        "asks": len(asks),
        "target_ms_at_1m": 20,
        "analyse_ms_per_arrival": round(analyse_ms, 3),
        "lookup": {
            "p50_ms_at_10": p50_small,
            f"p50_ms_at_{n}": p50_large,
            "p99_ms_at_10": small["lookup"]["p99_ms"],
            f"p99_ms_at_{n}": large["lookup"]["p99_ms"],
            "ratio_p50": round(p50_large / p50_small, 2) if p50_small else None,
            "max_ms_at_10": small["lookup"]["max_ms"],
            f"max_ms_at_{n}": large["lookup"]["max_ms"],
            "candidates_scored_at_10": small["candidates_scored"],
            f"candidates_scored_at_{n}": large["candidates_scored"],
        },
        "baselines_at_1m": {
            "same_lookup_without_gin_index": large["baseline_without_gin_index"],
            "naive_score_every_appeal_of_the_village_in_window": large["baseline_naive_village_scan"],
            "asks": {"without_gin_index": NO_INDEX_ASKS, "naive": BASELINE_ASKS},
            "ratio_p50_without_gin_vs_lookup": round(
                large["baseline_without_gin_index"]["p50_ms"] / p50_large, 1
            ),
            "ratio_p50_naive_vs_lookup": round(large["baseline_naive_village_scan"]["p50_ms"] / p50_large, 1),
        },
        "labelled_duplicates": {
            "pairs": len(dup),
            "retrievable_by_keys_alone": len(retrievable),
            f"retrieved_among_{n}": len(retrieved),
        },
        "gin_index_in_plan": {
            plan: any("ix_fingerprints_keys" in line for line in large[f"explain_{plan}"])
            for plan in ("generic", "custom")
        },
        "explain_generic_plan_at_1m": large["explain_generic"],
        "explain_custom_plan_at_1m": large["explain_custom"],
        "explain_without_gin_index_at_1m": large["explain_no_index"],
    }


def main(n: int = 1_000_000) -> dict[str, Any]:
    """Load both databases, measure, compare."""
    os.environ.setdefault("GUANJIA_PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    return asyncio.run(run(n))


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), ensure_ascii=False))
