"""Resolving a location: the sources an appeal offers, tried in order of reliability.

Grid code, address text, free text, then GPS coordinates: the first source that names a town
decides it, and a later one may add the village inside that town. This module holds the public
result (:class:`LocationMatch`) and :func:`resolve_location`; the coordinate maths, the text index
and the reading of text live in sibling modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from services.common.reference.loader import Reference, Village, load_reference
from services.common.reference.locate.coordinates import _datum_key, _to_wgs84, haversine_metres
from services.common.reference.locate.index import _canon_grid, _Index, _index_for
from services.common.reference.locate.textmatch import _match_text

Method = Literal["grid_code", "address", "text", "coordinates", "none"]

# A village centroid is only a rough point; beyond ~3 km the nearest one is as likely to be in the
# neighbouring town as in the right one, so we would rather say "unknown" than guess.
NEAREST_VILLAGE_MAX_METRES = 3000.0

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
