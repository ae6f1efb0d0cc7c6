"""Resolve where an appeal is: town and village from a grid code, address text, free text or GPS.

Pure functions over a :class:`~services.common.reference.loader.Reference`; no I/O beyond the
cached packaged reference data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from services.common.reference.loader import Reference, Village, load_reference
from services.common.text import fold_width, normalise_text

__all__ = [
    "NEAREST_VILLAGE_MAX_METRES",
    "LocationMatch",
    "Method",
    "bd09_to_gcj02",
    "gcj02_to_wgs84",
    "haversine_metres",
    "resolve_location",
    "wgs84_to_gcj02",
]

Method = Literal["grid_code", "address", "text", "coordinates", "none"]

# A village centroid is only a rough point; beyond ~3 km the nearest one is as likely to be in the
# neighbouring town as in the right one, so we would rather say "unknown" than guess.
NEAREST_VILLAGE_MAX_METRES = 3000.0

# Prefixes every local address carries; they name no town, and "东莞" would otherwise leak
# "莞城" out of phrases like "东莞城市花园".
_NOISE = ("广东省", "东莞市", "东莞")
# Stand-in for removed noise: a character no term contains, so matches cannot span the cut.
_CUT = "|"
_VILLAGE_SUFFIXES = ("社区居委会", "居委会", "村委会", "社区", "村")
# Two-character village names that are everyday words or names found all over China: on their
# own they do not place an appeal (with the town named, they still pick the village).
_COMMON_WORDS = frozenset(
    [
        "太平",
        "东方",
        "解放",
        "光明",
        "创业",
        "新安",
        "新民",
        "白沙",
        "西湖",
        "田头",
        "水边",
        "江边",
        "东山",
        "新市",
        "平山",
        "田心",
        "宝山",
        "长龙",
        "北岸",
        "新和",
        "新联",
        "路东",
        "镇口",
        "南面",
        "石鼓",
        "上合",
        "大洲",
        "大龙",
        "三新",
        "新基",
        "大坪",
        "中坑",
        "上角",
        "上沙",
        "沙头",
        "涌头",
        "兴龙",
        "大步",
        "金洲",
        "村头",
        "小河",
        "民田",
        "长安",
        "白马",
        "西平",
        "市桥",
        "河田",
        "龙眼",
        "司马",
        "江城",
        "双岗",
        "新围",
        "大盛",
    ]
)
# Free text is chattier than an address field: a place name in it is more often incidental.
_TEXT_FACTOR = 0.85


@dataclass(frozen=True, slots=True)
class LocationMatch:
    """Where an appeal is, how we know, and how sure we are (0..1).

    ``method`` names the source that decided the town; a later source may add the village when it
    agrees on the town (``evidence`` then shows both, joined by " + ").
    """

    town_code: str | None
    village_code: str | None
    method: Method
    confidence: float
    evidence: str


NO_MATCH = LocationMatch(None, None, "none", 0.0, "")


# --- coordinates ---------------------------------------------------------------------------------

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_EARTH_RADIUS_M = 6371008.8


def _out_of_china(lat: float, lng: float) -> bool:
    # GCJ-02 only shifts points inside mainland China's rough bounding box.
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _gcj02_offset(lat: float, lng: float) -> tuple[float, float]:
    x = lng - 105.0
    y = lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlng += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (dlng * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 ("Mars coordinates"), the datum of WeChat, AMap and Tencent maps.

    This is the de-facto standard published transform (Krasovsky 1940 ellipsoid, a = 6378245,
    e² = 0.00669342162296594323) as reproduced in open implementations such as
    ``googollee/eviltransform`` and ``wandergis/coordtransform``. Points outside China are
    returned unchanged, as the official encoders do.
    """
    if _out_of_china(lat, lng):
        return lat, lng
    dlat, dlng = _gcj02_offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84, inverting :func:`wgs84_to_gcj02` (same published transform).

    The transform has no closed-form inverse; the one-step "subtract the offset" version common
    online is off by up to a few metres, so we iterate (fixed point, converges in a few steps to
    well under a millimetre).
    """
    if _out_of_china(lat, lng):
        return lat, lng
    w_lat, w_lng = lat, lng
    for _ in range(30):
        g_lat, g_lng = wgs84_to_gcj02(w_lat, w_lng)
        d_lat, d_lng = lat - g_lat, lng - g_lng
        w_lat += d_lat
        w_lng += d_lng
        if abs(d_lat) < 1e-10 and abs(d_lng) < 1e-10:
            break
    return w_lat, w_lng


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """BD-09 (Baidu maps) -> GCJ-02, by Baidu's published conversion formula."""
    x_pi = math.pi * 3000.0 / 180.0
    x = lng - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * x_pi)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * x_pi)
    return z * math.sin(theta), z * math.cos(theta)


def haversine_metres(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


_DATUMS = frozenset({"wgs84", "gcj02", "bd09"})


def _datum_key(datum: str) -> str:
    key = datum.strip().lower().replace("-", "").replace("_", "")
    if key not in _DATUMS:
        raise ValueError(f"unknown datum {datum!r}: expected wgs84, gcj02 or bd09")
    return key


def _to_wgs84(lat: float, lng: float, datum: str) -> tuple[float, float]:
    key = _datum_key(datum)
    if key == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    if key == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))
    return lat, lng


# --- text index ----------------------------------------------------------------------------------

_TermKind = Literal["town_full", "town_short", "village"]


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    kind: _TermKind
    codes: tuple[str, ...]  # one town code for town terms; every village the term may name


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    term: _Term

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Index:
    by_first_char: dict[str, tuple[_Term, ...]]
    noise: re.Pattern[str]  # 广东省 / 东莞市 / 东莞, except where they begin a known place
    village_town: dict[str, str]
    villages: dict[str, Village]
    grid: dict[str, str]
    grid_lengths: tuple[int, ...]
    town_codes: frozenset[str]


def _canon(text: str) -> str:
    return normalise_text(text).replace(" ", "")


def _village_forms(village: Village) -> set[str]:
    forms = {_canon(village.name), *(_canon(a) for a in village.aliases)}
    name = _canon(village.name)
    # Residents drop or swap the suffix (北栅社区 / 北栅村 / 北栅): many 村 became 社区 and
    # everyday speech kept the old name, so the full ~600-row file needs no hand-made aliases.
    for suffix in _VILLAGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if len(stem) >= 2:
                forms.add(stem)
                forms.add(stem + "社区")
                if not stem.endswith("村"):
                    forms.add(stem + "村")
            break
    forms.discard("")
    return forms


def _build_index(ref: Reference) -> _Index:
    town_terms: dict[str, _Term] = {}
    for town in ref.towns:
        full = {_canon(town.full_name)} | {_canon(a) for a in town.aliases if len(_canon(a)) >= 3}
        # Two-character forms are everyday words too (长安街, 沙田 in Hong Kong): weaker evidence.
        short = ({_canon(town.name)} | {_canon(a) for a in town.aliases}) - full
        for form in full:
            town_terms[form] = _Term(form, "town_full", (town.code,))
        for form in short:
            town_terms.setdefault(form, _Term(form, "town_short", (town.code,)))
    # Old names, landmarks, roads and villages not in the village file tell the town as its
    # name does: a long one like its full name, a two-character one only weakly.
    for place in ref.places:
        for name in (place.name, *place.aliases):
            form = _canon(name)
            kind: _TermKind = "town_full" if len(form) >= 3 else "town_short"
            town_terms.setdefault(form, _Term(form, kind, (place.town_code,)))

    village_codes: dict[str, list[str]] = {}
    for village in ref.villages:
        for form in _village_forms(village):
            # A village spelled like a town (长安社区 -> 长安) must not steal the town's name.
            if form not in town_terms:
                village_codes.setdefault(form, []).append(village.code)

    terms = list(town_terms.values())
    terms += [_Term(form, "village", tuple(sorted(codes))) for form, codes in village_codes.items()]
    by_first: dict[str, list[_Term]] = {}
    for term in terms:
        by_first.setdefault(term.text[0], []).append(term)

    grid = {_canon_grid(v.grid_prefix): v.code for v in ref.villages}
    kept = sorted((t.text for t in terms if t.text.startswith(_NOISE)), key=len, reverse=True)
    noise = "|".join(map(re.escape, _NOISE))
    if kept:
        # 东莞东站 is a place in 常平, not the city's name before 东站.
        noise = "(?!" + "|".join(map(re.escape, kept)) + ")(?:" + noise + ")"
    return _Index(
        by_first_char={ch: tuple(sorted(ts, key=lambda t: -len(t.text))) for ch, ts in by_first.items()},
        noise=re.compile(noise),
        village_town={v.code: v.town_code for v in ref.villages},
        villages={v.code: v for v in ref.villages},
        grid=grid,
        grid_lengths=tuple(sorted({len(p) for p in grid}, reverse=True)),
        town_codes=frozenset(t.code for t in ref.towns),
    )


@lru_cache(maxsize=8)
def _index_for(ref: Reference) -> _Index:
    return _build_index(ref)


def _prepare(text: str, index: _Index) -> str:
    return index.noise.sub(_CUT, _canon(text))


def _find_hits(text: str, index: _Index) -> list[_Hit]:
    hits: list[_Hit] = []
    for i, ch in enumerate(text):
        for term in index.by_first_char.get(ch, ()):
            if text.startswith(term.text, i):
                hits.append(_Hit(i, i + len(term.text), term))
    # "横沥村头村" is 横沥 (the town) + 村头村 (its village), not 横沥村 (a village of 望牛墩) + 头村:
    # a village named like a town gives way when the town's own village follows the town's name.
    towns_at = {(h.start, h.end): h.term.codes[0] for h in hits if h.term.kind != "village"}
    hits = [
        h
        for h in hits
        if not (
            h.term.kind == "village"
            and any(
                s == h.start
                and any(
                    g.start == e
                    and g.term.kind == "village"
                    and town in {index.village_town[c] for c in g.term.codes}
                    for g in hits
                )
                for (s, e), town in towns_at.items()
            )
        )
    ]
    # A term inside a longer matched term is part of that name, not a mention of its own
    # ("虎门" in "虎门寨社区", "长安" in "长安塘村").
    return [
        h
        for h in hits
        if not any(g.length > h.length and g.start <= h.start and h.end <= g.end for g in hits if g is not h)
    ]


@dataclass(frozen=True, slots=True)
class _TextMatch:
    town_code: str
    village_code: str | None
    confidence: float
    evidence: str


def _best(hits: list[_Hit]) -> _Hit:
    return min(hits, key=lambda h: (-h.length, h.start))


def _match_text(raw: str, index: _Index, context_town: str | None = None) -> _TextMatch | None:
    """Match town and village names in ``raw``; with ``context_town`` only look for its villages."""
    hits = _find_hits(_prepare(raw, index), index)
    if not hits:
        return None

    strong: dict[str, list[_Hit]] = {}
    weak: dict[str, list[_Hit]] = {}
    village_hits: list[_Hit] = []
    for hit in hits:
        if hit.term.kind == "town_full":
            strong.setdefault(hit.term.codes[0], []).append(hit)
        elif hit.term.kind == "town_short":
            weak.setdefault(hit.term.codes[0], []).append(hit)
        else:
            village_hits.append(hit)

    def towns_of(hit: _Hit) -> set[str]:
        return {index.village_town[c] for c in hit.term.codes}

    def is_unique(hit: _Hit) -> bool:
        # On its own, a name identifies a village only if exactly one village bears it and it
        # is more than a two-character word, or a two-character name that is no everyday word
        # (蛤地, 樟村, 雁田 are only places; 太平, 光明, 白沙 are words too).
        if len(hit.term.codes) != 1:
            return False
        return hit.length >= 3 or (hit.length == 2 and hit.term.text not in _COMMON_WORDS)

    named = set(strong) | set(weak)
    if context_town is not None:
        named.add(context_town)

    def support(town: str) -> list[_Hit]:
        return [h for h in village_hits if town in towns_of(h) and (town in named or is_unique(h))]

    if context_town is not None:
        candidates = {context_town}
    else:
        candidates = set(named)
        candidates |= {next(iter(towns_of(h))) for h in village_hits if is_unique(h)}
    if not candidates:
        return None

    def rank(town: str) -> tuple[bool, bool, bool, int, int]:
        own = strong.get(town, []) + weak.get(town, []) + support(town)
        longest = max((h.length for h in own), default=0)
        first = min((h.start for h in own), default=len(raw))
        return (town in strong, bool(support(town)), town in named, longest, -first)

    town = max(candidates, key=rank)

    # Only a hit naming exactly one village of this town can pick the village.
    village_choices = [
        h for h in support(town) if sum(1 for c in h.term.codes if index.village_town[c] == town) == 1
    ]
    village_hit = _best(village_choices) if village_choices else None
    village_code = (
        next(c for c in village_hit.term.codes if index.village_town[c] == town) if village_hit else None
    )

    if context_town is not None and village_hit is None:
        return None

    town_hit = _best(strong[town]) if town in strong else _best(weak[town]) if town in weak else None
    if village_hit is not None:
        confidence = 0.95 if town in strong else 0.9 if town in weak else 0.85
        if village_hit.length <= 2:
            confidence -= 0.05
    else:
        confidence = 0.9 if town in strong else 0.6
    if any(other != town for other in strong):
        confidence *= 0.8  # the text also names another town explicitly

    evidence_hits = sorted((h for h in (town_hit, village_hit) if h is not None), key=lambda h: h.start)
    return _TextMatch(
        town_code=town,
        village_code=village_code,
        confidence=round(confidence, 3),
        evidence=" ".join(h.term.text for h in evidence_hits),
    )


# --- the sources ---------------------------------------------------------------------------------


def _canon_grid(code: str) -> str:
    return fold_width(code).strip().replace(" ", "").upper()


def _by_grid(grid_code: str, index: _Index) -> LocationMatch | None:
    code = _canon_grid(grid_code)
    for length in index.grid_lengths:
        village = index.grid.get(code[:length])
        # The prefix must end at a separator or the end, so 441900121001 never matches 4419001210012.
        if village is not None and (len(code) == length or not code[length].isdigit()):
            return LocationMatch(index.village_town[village], village, "grid_code", 1.0, code[:length])
    # An unknown grid inside a known town still tells us the town (new grids appear before the
    # reference file is updated).
    town = code[:9] + "000"
    if len(code) >= 12 and code[:12].isdigit() and town in index.town_codes:
        return LocationMatch(town, None, "grid_code", 0.7, code[:9])
    return None


def _by_coordinates(
    lat: float, lng: float, index: _Index, town: str | None = None
) -> tuple[Village, float] | None:
    best: tuple[Village, float] | None = None
    for village in index.villages.values():
        if town is not None and village.town_code != town:
            continue
        distance = haversine_metres(lat, lng, village.lat, village.lng)
        if distance <= NEAREST_VILLAGE_MAX_METRES and (best is None or distance < best[1]):
            best = (village, distance)
    return best


def _coordinate_confidence(distance: float) -> float:
    return round(0.75 - 0.4 * min(distance, NEAREST_VILLAGE_MAX_METRES) / NEAREST_VILLAGE_MAX_METRES, 3)


def resolve_location(
    address: str | None,
    text: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    grid_code: str | None = None,
    datum: str = "wgs84",
    ref: Reference | None = None,
) -> LocationMatch:
    """Resolve the town and village of an appeal from whatever the channel gave us.

    Sources are tried in order of reliability: ``grid_code`` (exact prefix of a village's grid
    prefix), ``address`` text, free ``text`` (transcript, description), then coordinates (nearest
    village centroid within 3 km; ``datum`` is ``wgs84``, ``gcj02`` — WeChat — or ``bd09``). The
    first source that names a town wins; when it names no village, a later source may add one
    inside that town. Text matching is simplified/half-width tolerant, ignores 广东省 / 东莞市,
    prefers full names (虎门镇, 东城区) over short ones (虎门) and longer names over shorter ones,
    and accepts a village name shared by several towns only when the town is named too.

    Raises ``ValueError`` for an unknown ``datum``.
    """
    reference = ref if ref is not None else load_reference()
    index = _index_for(reference)

    _datum_key(datum)  # a bad datum is a caller's bug even on a call without coordinates
    wgs: tuple[float, float] | None = None
    if lat is not None and lng is not None and math.isfinite(lat) and math.isfinite(lng):
        wgs = _to_wgs84(lat, lng, datum)

    primary: LocationMatch | None = None
    later: list[Method] = []
    if grid_code and grid_code.strip():
        primary = _by_grid(grid_code, index)
        later = ["address", "text", "coordinates"]
    if primary is None and address and address.strip():
        found = _match_text(address, index)
        if found is not None:
            primary = LocationMatch(
                found.town_code, found.village_code, "address", found.confidence, found.evidence
            )
            later = ["text", "coordinates"]
    if primary is None and text and text.strip():
        found = _match_text(text, index)
        if found is not None:
            confidence = round(found.confidence * _TEXT_FACTOR, 3)
            primary = LocationMatch(found.town_code, found.village_code, "text", confidence, found.evidence)
            later = ["coordinates"]
    if primary is None and wgs is not None:
        near = _by_coordinates(wgs[0], wgs[1], index)
        if near is not None:
            village, distance = near
            return LocationMatch(
                village.town_code,
                village.code,
                "coordinates",
                _coordinate_confidence(distance),
                f"{village.name} {distance:.0f} m",
            )
    if primary is None:
        return NO_MATCH
    if primary.village_code is not None or primary.town_code is None:
        return primary

    town = primary.town_code
    for source in later:
        village_code: str | None = None
        confidence = 0.0
        evidence = ""
        if source in ("address", "text"):
            raw = address if source == "address" else text
            if raw and raw.strip():
                found = _match_text(raw, index, context_town=town)
                if found is not None:
                    village_code = found.village_code
                    factor = _TEXT_FACTOR if source == "text" else 1.0
                    confidence, evidence = found.confidence * factor, found.evidence
        elif wgs is not None:
            near = _by_coordinates(wgs[0], wgs[1], index, town=town)
            if near is not None:
                village, distance = near
                village_code = village.code
                confidence = _coordinate_confidence(distance)
                evidence = f"{village.name} {distance:.0f} m"
        if village_code is not None:
            return LocationMatch(
                town,
                village_code,
                primary.method,
                round(min(primary.confidence, confidence), 3),
                f"{primary.evidence} + {evidence}",
            )
    return primary
