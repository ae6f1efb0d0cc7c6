"""Judgement harness: duplicate detection on labelled pairs, through intake's real duplicate path.

    python -m bench.judgement_duplicates [pairs.yaml]     # default tests/data/independent/pairs.yaml

The file is one YAML list of pairs:
  - id, label (duplicate | repeat | distinct), type (free text), gap_hours (b arrives this long
    after a), a: {channel, text, address (or null), lat, lng (GCJ-02 or null), reporter_phone,
    town, village}, b: {the same}.
The system sees only channel, text, address, lat/lng and reporter_phone; `town` and `village` are
truth, used here only to report how often the place was settled right.

For each pair, in its own transaction on a scratch PostgreSQL database migrated with Alembic (the
schema production runs), rolled back afterwards so that pairs never meet each other: `a` is made
into an `AppealDraft`, normalised by the gateway's own `normalise_draft` (place resolved from the
address, text and point) and recorded by intake's `create_appeal` as if received `gap_hours`
before `b`; then `b` is recorded the same way "now" — its fingerprint, key lookup, scoring,
linking and suggestions happen in `after_received`, as intake's worker runs it right after a live
arrival's commit. Read
back: whether `b` was linked to `a` (status merged, `duplicate_of`), suggested with it, flagged
as a repeat of it; and, for the analysis, whether the lookup retrieved `a` at all and its score.

Thresholds are those a fresh production database uses (the newest tuned row, else the shipped
model's); `GUANJIA_DUPLICATE_*` overrides in the environment are ignored for the run.

Prints one JSON object: auto-link precision and recall, link-or-suggest recall, repeat pairs
merged (must be 0), distinct pairs linked, per-type figures, place resolution against the truth.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.common.settings import get_settings

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "independent" / "pairs.yaml"
LABELS = ("duplicate", "repeat", "distinct")
OVERRIDES = ("GUANJIA_DUPLICATE_LINK_AT", "GUANJIA_DUPLICATE_SUGGEST_AT")
ROLES = {
    "grid_inspector": "inspector",
    "village_visit": "cadre",
    "party_member_visit": "cadre",
    "leader_station": "cadre",
    "consultation_meeting": "cadre",
    "station_walk_in": "station_worker",
    "department_referral": "department",
}


@dataclass(frozen=True)
class Outcome:
    """What intake did with `b` of one pair."""

    id: str
    label: str
    type: str
    linked: bool  # b merged into a
    suggested: bool  # a among b's suggestions (not linked)
    repeat: bool  # b flagged as a repeat of a
    retrieved: bool  # the lookup brought a up at all
    score: float | None  # the model's score of (a, b) when retrieved
    place_a: tuple[str | None, str | None]  # (town, village) resolved
    place_b: tuple[str | None, str | None]
    truth_a: tuple[str | None, str | None]
    truth_b: tuple[str | None, str | None]


def load(path: Path) -> list[dict[str, Any]]:
    """The pairs of a file in the schema above (checked)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected one YAML list of pairs")
    for p in raw:
        missing = {"id", "label", "a", "b"} - set(p)
        if missing or p["label"] not in LABELS:
            raise ValueError(f"{path}: pair {p.get('id')}: missing {sorted(missing)} or bad label")
    return raw


def draft_of(side: dict[str, Any], ref: str) -> Any:
    """An AppealDraft of one side, as its channel would deliver it, normalised by the gateway."""
    from services.contracts.appeals import AppealDraft, Location, Reporter
    from services.gateway.service.normalise import normalise_draft

    channel = side.get("channel") or "hotline_12345"
    lat, lng = side.get("lat"), side.get("lng")
    has_point = lat is not None and lng is not None
    phone = side.get("reporter_phone")
    draft = AppealDraft(
        channel=channel,
        channel_ref=ref,
        reporter=Reporter(phone=str(phone) if phone else None, role=ROLES.get(channel, "resident")),
        description=str(side["text"]),
        location=Location(
            address=side.get("address") or None,
            lat=lat if has_point else None,
            lng=lng if has_point else None,
            datum="gcj02",
        ),
    )
    return normalise_draft(draft, strict_phone=False)


@contextmanager
def received_at(moment: datetime) -> Iterator[None]:
    """Intake records the next appeal as received at `moment` (its clock, not the wall's)."""
    with mock.patch("intake.service.records.utcnow", lambda: moment):
        yield


async def one_pair(session: AsyncSession, pair: dict[str, Any], now: datetime) -> Outcome:
    """Record a, then b `gap_hours` later, through intake's real path; read back what happened."""
    from intake.models import Appeal, DuplicateLink, Reporter
    from intake.service.duplicates import service as duplicates
    from intake.service.records import after_received, create_appeal

    tag = uuid.uuid4().hex[:12]
    gap = timedelta(hours=float(pair.get("gap_hours") or 0))
    draft_a, draft_b = draft_of(pair["a"], f"judge-{tag}-a"), draft_of(pair["b"], f"judge-{tag}-b")
    with received_at(now - gap):
        first, _ = await create_appeal(session, draft_a)
    a = await session.get(Appeal, first.appeal_id)
    assert a is not None
    await after_received(session, a.id)
    with received_at(now):
        second, _ = await create_appeal(session, draft_b)
    b = await session.get(Appeal, second.appeal_id)
    assert b is not None
    await after_received(session, b.id)
    link = await session.scalar(
        select(DuplicateLink).where(DuplicateLink.appeal_id == b.id, DuplicateLink.master_id == a.id)
    )
    linked = b.status == "merged" and b.duplicate_of == a.id
    # For the analysis only: did the lookup bring `a` up, and how did the model score it?
    people = list(await session.scalars(select(Reporter).where(Reporter.appeal_id == b.id)))
    found = await duplicates.find_candidates(session, b, duplicates.doc_of(b), people)
    hit = next((c for c in found if c.appeal.id == a.id), None)
    return Outcome(
        id=str(pair["id"]),
        label=pair["label"],
        type=str(pair.get("type") or ""),
        linked=linked,
        suggested=not linked and link is not None and link.state == "suggested",
        repeat=b.repeat_of == a.id,
        retrieved=hit is not None,
        score=hit.match.score if hit is not None else None,
        place_a=(a.town_code, a.village_code),
        place_b=(b.town_code, b.village_code),
        truth_a=(pair["a"].get("town"), pair["a"].get("village")),
        truth_b=(pair["b"].get("town"), pair["b"].get("village")),
    )


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _town_right(found: tuple[str | None, str | None], truth: tuple[str | None, str | None]) -> bool:
    from services.common.reference import load_reference

    code, name = found[0], truth[0]
    if code is None or name is None:
        return False
    town = load_reference().town_by_code(code)
    return town is not None and str(name) in {town.code, town.name, town.full_name, *town.aliases}


def report(outcomes: list[Outcome], thresholds: tuple[float, float]) -> dict[str, Any]:
    """The figures: auto-link precision / recall, link-or-suggest recall, repeats, distincts, per type."""
    dups = [o for o in outcomes if o.label == "duplicate"]
    repeats = [o for o in outcomes if o.label == "repeat"]
    distinct = [o for o in outcomes if o.label == "distinct"]
    linked = [o for o in outcomes if o.linked]
    per_type: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for o in outcomes:
        row = per_type[o.type or "-"]
        row["pairs"] += 1
        row[o.label] += 1
        row["linked"] += o.linked
        row["suggested"] += o.suggested
        row["retrieved"] += o.retrieved
    sides = [(o.place_a, o.truth_a) for o in outcomes] + [(o.place_b, o.truth_b) for o in outcomes]
    return {
        "benchmark": "judgement_duplicates",
        "pairs": len(outcomes),
        "labels": {label: sum(o.label == label for o in outcomes) for label in LABELS},
        "thresholds": {"link_at": thresholds[0], "suggest_at": thresholds[1]},
        "auto_link_precision": _ratio(sum(o.label == "duplicate" for o in linked), len(linked)),
        "auto_link_recall": _ratio(sum(o.linked for o in dups), len(dups)),
        "link_or_suggest_recall": _ratio(sum(o.linked or o.suggested for o in dups), len(dups)),
        "duplicates_retrieved": _ratio(sum(o.retrieved for o in dups), len(dups)),
        "repeat_pairs_merged": sum(o.linked for o in repeats),
        "repeat_pairs_flagged": sum(o.repeat for o in repeats),
        "distinct_pairs_linked": sum(o.linked for o in distinct),
        "distinct_pairs_suggested": sum(o.suggested for o in distinct),
        "per_type": {k: dict(v) for k, v in sorted(per_type.items())},
        "town_resolved_right": _ratio(sum(_town_right(f, t) for f, t in sides), len(sides)),
        "missed_duplicates": [
            {"id": o.id, "type": o.type, "retrieved": o.retrieved, "score": o.score}
            for o in dups
            if not (o.linked or o.suggested)
        ],
        "wrong_links": [
            {"id": o.id, "label": o.label, "type": o.type, "score": o.score}
            for o in linked
            if o.label != "duplicate"
        ],
    }


async def judge(pairs: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """Run every pair against the database at `url` (each in a rolled-back transaction)."""
    from intake.service.duplicates import service as duplicates
    from intake.service.duplicates.similarity import warm_up
    from services.common.db import async_url

    warm_up()
    engine = create_async_engine(async_url(url), pool_size=1)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    outcomes = []
    try:
        async with maker() as session:
            duplicates.forget_tuned_thresholds()
            thresholds = await duplicates.current_thresholds(session)
            await session.rollback()
        for pair in pairs:
            async with maker() as session:
                await session.begin()
                try:
                    outcomes.append(await one_pair(session, pair, now))
                finally:
                    await session.rollback()
    finally:
        await engine.dispose()
    return report(outcomes, thresholds)


@contextmanager
def production_thresholds() -> Iterator[None]:
    """Ignore the environment's threshold overrides (a test setup's) for the run."""

    saved = {k: os.environ.pop(k) for k in OVERRIDES if k in os.environ}
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.update(saved)
        get_settings.cache_clear()


async def run(path: Path, url: str | None = None) -> dict[str, Any]:
    """Judge the pairs of `path` on `url`, or on a scratch database made for the run."""
    pairs = load(path)
    with production_thresholds():
        if url is not None:
            out = await judge(pairs, url)
        else:
            from bench.common import db_url, scratch_databases

            async with scratch_databases("guanjia_judge_dups", "db") as names:
                out = await judge(pairs, db_url(names["db"]))
    return {"file": str(path), **out}


def main(argv: list[str]) -> dict[str, Any]:
    """Entry point: the file (default the independent set), printed as one JSON object."""
    os.environ.setdefault("GUANJIA_PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    path = Path(argv[0]) if argv else DEFAULT_FILE
    if not path.exists():
        raise SystemExit(f"no pairs file at {path}")
    return asyncio.run(run(path))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), ensure_ascii=False))
