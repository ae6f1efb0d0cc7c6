"""Coordinate datums and distances: WGS-84, GCJ-02 (WeChat, AMap) and BD-09 (Baidu), haversine.

The map apps our channels use each report GPS in their own datum; these pure functions bring a
point back to WGS-84 (the datum of the village centroids) and measure great-circle distance.
They know nothing of towns or villages, so other services use them for distances too.
"""

from __future__ import annotations

import math

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
