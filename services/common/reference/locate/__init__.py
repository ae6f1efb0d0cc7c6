"""Resolve where an appeal is: town and village from a grid code, address text, free text or GPS.

Pure functions over a :class:`~services.common.reference.loader.Reference`; no I/O beyond the
cached packaged reference data. The package is split by concern: ``coordinates`` (datums and
distances), ``index`` (the name index of towns, places and villages), ``textmatch`` (reading a
text against it) and ``resolve`` (the sources in order, and the result); this module re-exports
the public names so that ``services.common.reference.locate`` stays the one import path.
"""

from __future__ import annotations

from services.common.reference.locate.coordinates import (
    bd09_to_gcj02,
    gcj02_to_wgs84,
    haversine_metres,
    wgs84_to_gcj02,
)
from services.common.reference.locate.resolve import (
    NEAREST_VILLAGE_MAX_METRES,
    LocationMatch,
    Method,
    resolve_location,
)

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
