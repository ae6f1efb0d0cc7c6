"""Write services/gateway/static/pages/towns.json: an approximate centre for each of the 33 towns
(and the shipped villages' names).

The public screen places one bubble per town (镇街) on a plain longitude / latitude scatter; it
needs a point per town, not boundaries. Source: the project's own reference data
(`services/common/reference/villages.csv`, approximate WGS-84 village centroids): a town's centre
is the mean of its shipped villages' centroids. 松山湖 has no village in the shipped subset, so its
point is entered by hand (`MANUAL`): the middle of the functional zone, between 大朗, 大岭山 and
寮步, approximate to about a kilometre.

    .venv/bin/python tools/pages/town_centres.py        # rewrite the file
tests/unit/test_pages_assets.py fails when the file and this computation disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.common.reference import load_reference

OUT = Path(__file__).resolve().parents[2] / "services/gateway/static/pages/towns.json"
# code -> (lat, lng): towns without a shipped village.
MANUAL: dict[str, tuple[float, float]] = {"441900401000": (22.925, 113.885)}
SOURCE = (
    "镇街中心点（近似，WGS-84）：由本项目参考数据 services/common/reference/villages.csv 中各村（社区）"
    "中心点取平均；松山湖无参考村点，按园区中部人工取点。仅用于大屏示意，不作测绘用途。"
)


def centres() -> dict[str, Any]:
    """The file's content: a source note, one row per town in the reference's order, and the
    names of the villages."""
    ref = load_reference()
    rows: list[dict[str, Any]] = []
    for town in ref.towns:
        villages = ref.villages_of(town.code)
        if villages:
            lat = sum(v.lat for v in villages) / len(villages)
            lng = sum(v.lng for v in villages) / len(villages)
        else:
            lat, lng = MANUAL[town.code]
        rows.append({"code": town.code, "name": town.name, "lat": round(lat, 3), "lng": round(lng, 3)})
    # Names of the shipped villages, so that a page can name the unit holding a clock.
    names = {v.code: v.name for v in ref.villages}
    return {"source": SOURCE, "towns": rows, "villages": names}


def render() -> str:
    """The exact text of the file."""
    return json.dumps(centres(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
