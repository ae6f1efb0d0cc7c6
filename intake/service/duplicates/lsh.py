"""Candidate retrieval keys (pure): concepts, MinHash-LSH bands, places and people — scoped by place
and by time.

Every key is a signed 64-bit integer stored in `intake.fingerprints.keys` (a GIN-indexed
`bigint[]`, the only index of that table, so a lookup can only go by keys, never a scan). Each key
carries two scopes:
- **time**: the 10-day bucket of the appeal's arrival (`BUCKET_DAYS`). An arrival asks for the
  buckets its window overlaps (four for 30 days), so rows older than the window are never read
  from the index at all — at most one bucket's worth beyond it — however long the history grows.
- **place**: the village, ~500 m grid cells, the town — and, for the arrival, the towns of the
  villages within `NEIGHBOUR_M` of it, since a village on a town's edge is its neighbour's
  neighbour too. An appeal whose town could not be settled is keyed city-wide, by fewer keys.

Which keys (the *fine* tier is selective, the *coarse* tier is broad; the lookup reads each tier
with its own cap, so a flood of same-concept appeals in a big town cannot crowd out the appeal
from the same street):
- fine: MinHash bands in the village; each object concept (路灯, 井盖…) in the village and the
  grid cell; each specific place named (a road, an estate: 东方路, 金域华府) and each person
  named (陈阿婆) in the town;
- fine, also: each family of concepts (排水, 医疗…) in the village;
- coarse: each object concept and each family in the town (two wordings of one problem that share no words meet
  here, also when one names the village by a landmark the reference data does not know); MinHash
  bands in the town (texts with no known object); and in the village, the appeals whose words the
  lexicon could not read for one whose words it could, and every appeal for one it could not.

MinHash: `BANDS` × `ROWS` = 32 hash functions over the concept and word set (objects counted
twice); two sets of Jaccard similarity s share a band with probability 1 − (1 − s²)^16 — 0.78 at
s = 0.3, 0.98 at s = 0.5.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

from intake.service.duplicates.lexicon import GENERIC_PLACES
from intake.service.duplicates.similarity import Doc
from services.common.reference import load_reference
from services.common.reference.locate import haversine_metres

BANDS = 16
ROWS = 2
_PRIME = (1 << 61) - 1
CELL_DEG = 0.005  # about 550 m north-south, 510 m east-west at Dongguan's latitude
BUCKET_DAYS = 10
NEIGHBOUR_M = 2500.0  # villages this close (centroid to point or centroid) are neighbours
_EPOCH = datetime(2020, 1, 1).toordinal()


def hash64(text: str) -> int:
    """A stable signed 64-bit hash (Postgres bigint)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


@lru_cache(maxsize=1)
def _permutations() -> tuple[tuple[int, int], ...]:
    rng = random.Random(20261127)
    return tuple((rng.randrange(1, _PRIME), rng.randrange(0, _PRIME)) for _ in range(BANDS * ROWS))


def _elements(doc: Doc) -> set[str]:
    out = {f"w:{w}" for w in doc.words} | {f"c:{c}" for c in doc.conditions}
    out |= {f"o:{o}" for o in doc.objects} | {f"o2:{o}" for o in doc.objects}
    return out


def minhash(elements: Iterable[str]) -> list[int]:
    """One minimum per hash function ((a·x + b) mod p over a 64-bit element hash)."""
    hashed = [hash64(e) & 0xFFFFFFFFFFFFFFFF for e in elements]
    if not hashed:
        return []
    return [min((a * h + b) % _PRIME for h in hashed) for a, b in _permutations()]


def cell_of(lat: float, lng: float) -> tuple[int, int]:
    """The grid cell of a WGS-84 point."""
    return math.floor(lat / CELL_DEG), math.floor(lng / CELL_DEG)


def bucket_of(at: datetime) -> int:
    """The 10-day time bucket of a moment (UTC date)."""
    return (at.toordinal() - _EPOCH) // BUCKET_DAYS


def buckets_between(since: datetime, until: datetime) -> list[int]:
    """Every bucket a window [since, until] overlaps."""
    return list(range(bucket_of(since), bucket_of(until) + 1))


@lru_cache(maxsize=4096)
def _towns_near(lat: float, lng: float) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                v.town_code
                for v in load_reference().villages
                if haversine_metres(lat, lng, v.lat, v.lng) <= NEIGHBOUR_M
            }
        )
    )


def neighbour_towns(doc: Doc) -> list[str]:
    """The appeal's town and the towns of the villages within `NEIGHBOUR_M` of it."""
    towns = {doc.town_code} if doc.town_code else set()
    point: tuple[float, float] | None = None
    if doc.lat is not None and doc.lng is not None:
        point = (round(doc.lat, 3), round(doc.lng, 3))
    elif doc.village_code:
        village = load_reference().village_by_code(doc.village_code)
        if village is not None:
            point = (round(village.lat, 3), round(village.lng, 3))
    if point is not None and towns:
        towns.update(_towns_near(*point))
    return sorted(towns)


def _bands(doc: Doc) -> list[tuple[int, ...]]:
    signature = minhash(_elements(doc))
    return [tuple(signature[i * ROWS : (i + 1) * ROWS]) for i in range(BANDS)] if signature else []


def _base_keys(doc: Doc, *, query: bool) -> tuple[set[str], set[str]]:
    """(fine, coarse) keys before the time bucket is added."""
    fine: set[str] = set()
    coarse: set[str] = set()
    bands = _bands(doc)
    towns = neighbour_towns(doc) if query else ([doc.town_code] if doc.town_code else [])
    # The family of need (排水, 医疗…; "-" for none known): one matter told with two different
    # objects of one family (化粪池 / 下水道, 透析 / 医药费) still meets in its village and town.
    families = doc.families or frozenset({"-"})
    if doc.village_code:
        fine.update(f"v:{doc.village_code}|b{i}|{band}" for i, band in enumerate(bands))
        fine.update(f"v:{doc.village_code}|o|{o}" for o in doc.objects)
        fine.update(f"v:{doc.village_code}|f|{f}" for f in families)
        # Whichever side the lexicon could not read still meets the other in its village (as an
        # appeal without a town meets through "u" / "c" below): every appeal is stored under the
        # village's "any" key, which an arrival of no known family asks; an arrival of a known
        # family asks the village's "-" (the appeals of no known family). Both in the coarse
        # tier, so a busy village fills that tier's cap, never the selective one's.
        if query:
            coarse.add(f"v:{doc.village_code}|f|-" if doc.families else f"v:{doc.village_code}|any")
        else:
            coarse.add(f"v:{doc.village_code}|any")
    if doc.lat is not None and doc.lng is not None:
        row, col = cell_of(doc.lat, doc.lng)
        spread = (-1, 0, 1) if query else (0,)
        for dr in spread:
            for dc in spread:
                fine.update(f"g:{row + dr}:{col + dc}|o|{o}" for o in doc.objects)
    # Town-wide keys in the appeal's town (and, asking, its neighbours'). An appeal whose town
    # could not be settled (a landmark or an old name only) is stored under "u" instead, which
    # every arrival also asks; and every appeal is stored under "c" (city-wide), which only an
    # arrival without a town asks — so the two still meet whichever side lacks the town.
    scopes = [f"t:{t}" for t in towns] or (["c"] if query else ["u"])
    if towns and query:
        scopes.append("u")
    for scope in scopes:
        fine.update(f"{scope}|p|{p}" for p in doc.places - GENERIC_PLACES)
        fine.update(f"{scope}|n|{n}" for n in doc.persons)
        coarse.update(f"{scope}|o|{o}" for o in doc.objects)
        coarse.update(f"{scope}|f|{f}" for f in families)
        if scope.startswith("t:"):
            coarse.update(f"{scope}|b{i}|{band}" for i, band in enumerate(bands))
    if query and doc.families and not doc.village_code:
        # No village to meet in: the town's appeals of no known family instead (an arrival of no
        # known family already asks them; all of a town would crowd out its bands).
        coarse.update(f"t:{t}|f|-" for t in towns)
    if not query:
        fine.update(f"c|p|{p}" for p in doc.places - GENERIC_PLACES)
        fine.update(f"c|n|{n}" for n in doc.persons)
        coarse.update(f"c|o|{o}" for o in doc.objects)
        coarse.update(f"c|f|{f}" for f in families)
    return fine, coarse


def keys(doc: Doc, at: datetime) -> list[int]:
    """The keys an appeal received at `at` is stored under."""
    fine, coarse = _base_keys(doc, query=False)
    b = bucket_of(at)
    return sorted({hash64(f"{b}|{k}") for k in fine | coarse})


def query_keys(doc: Doc, at: datetime, window_days: int) -> tuple[list[int], list[int]]:
    """(fine, coarse) keys an arrival at `at` looks up: every bucket of its window."""
    fine, coarse = _base_keys(doc, query=True)
    buckets = buckets_between(at - timedelta(days=window_days), at)
    return (
        sorted({hash64(f"{b}|{k}") for b in buckets for k in fine}),
        sorted({hash64(f"{b}|{k}") for b in buckets for k in coarse}),
    )


def query_keys_by_bucket(doc: Doc, at: datetime, window_days: int) -> list[tuple[list[int], list[int]]]:
    """The keys of `query_keys` split by time bucket, newest bucket first: (fine, coarse) each.

    A stored key carries the bucket of its appeal's arrival (`keys`), so the appeals a bucket's
    keys find arrived within that bucket, all later than any an older bucket's keys find: the
    newest appeals sharing a key are those of the newest buckets (the lookup reads no further
    back than its cap needs)."""
    fine, coarse = _base_keys(doc, query=True)
    buckets = buckets_between(at - timedelta(days=window_days), at)
    return [
        (sorted({hash64(f"{b}|{k}") for k in fine}), sorted({hash64(f"{b}|{k}") for k in coarse}))
        for b in reversed(buckets)
    ]


def may_meet(stored: Doc, arrival: Doc, *, gap: timedelta = timedelta(days=1), window_days: int = 30) -> bool:
    """Whether a lookup by `arrival`, `gap` after `stored`, would retrieve it (offline evaluation;
    the per-tier caps of the lookup aside)."""
    now = datetime(2026, 6, 15, 12)
    fine, coarse = query_keys(arrival, now, window_days)
    return bool(set(keys(stored, now - gap)) & (set(fine) | set(coarse)))
