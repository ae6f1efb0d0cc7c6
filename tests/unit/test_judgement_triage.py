"""Triage judged on the independent evaluation set (issue 12), through ``bench.judgement_triage``.

The floors are issue 12's targets; the lead sets them to what is measured on the independent set
(``tests/data/independent/triage_*.yaml``, written by people who never saw the model or the data).
Those files are never trained or tuned on; without them the test is skipped and says so. The
harness itself is tested on a small fixture written for that purpose only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import judgement_triage as bench
from services.common.reference import load_reference

# Measured on 2026-12-07 (`python -m bench.judgement_triage`, 620 appeals of four files by four
# writers): kind 0.997, category 0.974, urgency 0.897, emergency recall 1.000, town 0.985,
# automatic 0.614 (0.989 right), confident 0.964 (0.983 right). Issue 12's targets where they are
# met; the measured figure, rounded down, where it is not yet: automatic (target 0.85: appeals that
# name no place wait in the city's queue for a person to place them, whatever the model's
# confidence). As filed (staff doors placing their appeals in the filer's unit, walk-ins at
# their station's): automatic 0.746 (0.989 right).
FLOORS: dict[str, float] = {
    "kind": 0.97,
    "category": 0.90,
    "urgency": 0.85,
    "emergency_recall": 0.95,
    "town": 0.97,
    "automatic": 0.61,
    "automatic_right": 0.97,
    "confident": 0.85,
    "confident_right": 0.97,
}

FIXTURE = Path(__file__).parents[1] / "data" / "sample_independent_triage.yaml"


def test_the_independent_set_meets_the_floors() -> None:
    files = bench.default_files()
    if not files:
        pytest.skip(f"the independent evaluation set is absent ({bench.DEFAULT_GLOB})")
    result = bench.run(files)
    assert result["n"] >= 600
    below = {k: result[k] for k, floor in FLOORS.items() if result[k] is None or result[k] < floor}
    assert not below, {"below": below, "floors": FLOORS, "files": result["files"]}
    filed = result["as_filed"]
    assert filed["automatic"] >= 0.74 and filed["automatic_right"] >= 0.97, filed


def test_as_filed_a_staff_door_places_the_appeal_in_the_filers_unit() -> None:
    visit = bench.Item("v1", "village_visit", {"text": "走访发现一户老人独居，行动不便，需要上门照护。"},
                       "micro_wish", "elderly_care", "normal", "虎门", "fixture")  # fmt: skip
    assert bench.draft_of(visit).location.town_code is None  # its words name no place
    placed = bench.draft_of(visit, as_filed=True).location
    town = load_reference().town_by_name("虎门")
    assert town is not None and placed.town_code == town.code and placed.village_code is not None
    # A resident's door is never placed for them: the words are all there is.
    wechat = bench.Item("w1", "wechat_official", {"text": "我家老人独居，行动不便，需要上门照护。"},
                        "micro_wish", "elderly_care", "normal", "虎门", "fixture")  # fmt: skip
    assert bench.draft_of(wechat, as_filed=True).location.town_code is None


def test_as_filed_a_walk_in_is_placed_at_its_station() -> None:
    walk_in = bench.Item("s1", "station_walk_in", {"text": "阿伯一个人住，腿脚不便，想有人上门帮手打扫。"},
                         "micro_wish", "elderly_care", "normal", "虎门", "fixture")  # fmt: skip
    (words,) = bench.judge([walk_in])
    (filed,) = bench.judge([walk_in], as_filed=True)
    assert words.town is None and words.needs_manual
    assert filed.town == "虎门" and not filed.needs_manual


def test_the_harness_presents_each_channel_as_the_system_receives_it() -> None:
    items = bench.load(FIXTURE)
    hotline = next(i for i in items if i.channel == "hotline_12345" and i.raw.get("summary"))
    received = bench.received_of(bench.draft_of(hotline))
    # The gateway's hotline normaliser: the caller's words first, the operator's summary after,
    # the operator's own turns dropped, the category as a hint, the place settled from the address.
    assert "巷子口那几盏路灯" in received.description and "（话务员摘要）" in received.description
    assert "请问有什么可以帮您" not in received.description
    assert received.category_hint == "城市管理/路灯" and received.town_code is not None
    form = next(i for i in items if i.channel == "wechat_miniprogram")
    received = bench.received_of(bench.draft_of(form))
    assert received.title == "屋顶漏水" and received.channel == "wechat_miniprogram"


def test_the_harness_counts_what_it_says() -> None:
    result = bench.run([FIXTURE])
    assert result["n"] == 6 and result["town_n"] == 4
    assert sum(sum(row.values()) for row in result["confusion"].values()) == 6
    assert set(result["files"]) == {FIXTURE.name}
    judged = bench.judge(bench.load(FIXTURE))
    # A wrong answer counts as wrong: flip one label and the figures drop.
    wrong = [
        bench.Judged(j.item, j.kind, "hospice" if k == 0 else j.category, j.urgency, None, True, True)
        for k, j in enumerate(judged)
    ]
    figures = bench.figures(wrong)
    assert figures.category is not None and figures.category < 1.0
    assert figures.town == 0.0 and figures.automatic == 0.0 and figures.automatic_right is None
