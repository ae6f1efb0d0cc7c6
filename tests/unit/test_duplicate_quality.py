"""Duplicate detection on the labelled pairs of tests/data/duplicates.yaml: tune on half, report on
the other half (hold-out honesty), and hold the Done-when figures: automatic links right ≥ 95% of
the time, finding ≥ 85% of the true duplicates, on pairs the tuning never saw.

Run with `-s` to print the table the README quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from intake.duplicates import similarity
from intake.duplicates.lsh import may_meet
from intake.duplicates.similarity import Doc, analyse, score
from services.common.reference import load_reference

DATA = Path(__file__).resolve().parents[1] / "data" / "duplicates.yaml"
CHANNELS = {
    "hotline_12345",
    "wechat_official",
    "wechat_miniprogram",
    "web_portal",
    "leader_station",
    "grid_inspector",
    "village_visit",
    "consultation_meeting",
    "online_consultation",
    "party_member_visit",
    "station_walk_in",
    "department_referral",
}
# Auto-linking is costly when wrong (a resident's appeal disappears into another's), so the link
# threshold sits this far above the highest-scoring look-alike of the training half.
LINK_MARGIN = 0.05


@dataclass(frozen=True)
class Pair:
    id: str
    type: str
    duplicate: bool
    score: float  # 0 when retrieval would not even bring the two together

    @property
    def train(self) -> bool:
        return int(self.id[1:]) % 2 == 1


def _doc(raw: dict[str, Any]) -> Doc:
    village = raw.get("v")
    town = raw.get("t")
    if village:
        found = load_reference().village_by_code(village)
        assert found is not None, village
        town = found.town_code
    return analyse(
        None,
        raw["text"],
        raw.get("addr"),
        town_code=town,
        village_code=village,
        lat=raw.get("lat"),
        lng=raw.get("lng"),
        datum=raw.get("datum", "wgs84"),
    )


@lru_cache(maxsize=1)
def pairs() -> tuple[Pair, ...]:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))["pairs"]
    out = []
    for p in raw:
        a, b = _doc(p["a"]), _doc(p["b"])
        found = may_meet(a, b)
        out.append(Pair(p["id"], p["type"], p["label"] == "duplicate", score(a, b).score if found else 0.0))
    return tuple(out)


def precision_recall(rows: list[Pair], threshold: float) -> tuple[float, float]:
    tp = sum(1 for r in rows if r.duplicate and r.score >= threshold)
    fp = sum(1 for r in rows if not r.duplicate and r.score >= threshold)
    fn = sum(1 for r in rows if r.duplicate and r.score < threshold)
    return (tp / (tp + fp) if tp + fp else 1.0), tp / (tp + fn)


def tune(train: list[Pair]) -> tuple[float, float]:
    """(link_at, suggest_at) from the training half only."""
    highest_lookalike = max(r.score for r in train if not r.duplicate)
    link_at = round(highest_lookalike + LINK_MARGIN, 2)
    # Suggest to staff whatever scores like the lowest tenth of the training duplicates.
    dup_scores = sorted(r.score for r in train if r.duplicate and r.score > 0)
    suggest_at = round(min(dup_scores[len(dup_scores) // 10] - 0.02, link_at - 0.1), 2)
    return link_at, suggest_at


def test_the_set_is_big_and_varied_enough() -> None:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))["pairs"]
    assert len(raw) >= 80
    assert len({p["id"] for p in raw}) == len(raw)
    kinds = {p["type"] for p in raw}
    assert {"cross_channel", "paraphrase", "same_place_other_problem", "nearby_other_spot"} <= kinds
    assert sum(p["label"] == "duplicate" for p in raw) >= 40
    assert sum(p["label"] == "distinct" for p in raw) >= 40
    for p in raw:
        assert p["a"]["ch"] in CHANNELS and p["b"]["ch"] in CHANNELS
    assert sum(p["a"]["ch"] != p["b"]["ch"] for p in raw if p["label"] == "duplicate") >= 40


def test_thresholds_are_the_tuned_ones() -> None:
    train = [p for p in pairs() if p.train]
    link_at, suggest_at = tune(train)
    assert (link_at, suggest_at) == (similarity.LINK_AT, similarity.SUGGEST_AT)


def test_held_out_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    rows = pairs()
    train = [p for p in rows if p.train]
    test = [p for p in rows if not p.train]
    link_at, suggest_at = tune(train)
    link_p, link_r = precision_recall(test, link_at)
    any_p, any_r = precision_recall(test, suggest_at)
    train_p, train_r = precision_recall(train, link_at)
    with capsys.disabled():
        print(
            f"\nduplicates: {len(rows)} pairs ({len(train)} tune / {len(test)} held out); "
            f"link_at={link_at} suggest_at={suggest_at}\n"
            f"  held out, automatic link:   precision {link_p:.3f} recall {link_r:.3f}\n"
            f"  held out, link or suggest:  precision {any_p:.3f} recall {any_r:.3f}\n"
            f"  tuning half, automatic link: precision {train_p:.3f} recall {train_r:.3f}"
        )
        for kind in sorted({p.type for p in test}):
            some = [p for p in test if p.type == kind]
            linked = sum(p.score >= link_at for p in some)
            print(f"    {kind:26s} {len(some):3d} pairs, {linked:3d} linked")
    assert link_p >= 0.95
    assert link_r >= 0.85
    assert any_r >= link_r
