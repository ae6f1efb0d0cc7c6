"""Duplicate judgement on pairs nobody here wrote: `bench.judgement_duplicates` on the independent
set (tests/data/independent/pairs.yaml), through intake's real path on a real database.

The floors are the issue's targets (issue 12); the lead adjusts them to what is measured. The
harness itself is checked on a small file of our own in the same schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import common, judgement_duplicates
from tests.conftest import PG_ADMIN_URL

# Floors: issue 12's target where it is met (precision 0.95); the measured figure, rounded down,
# where it is not yet (recall: target 0.85; link-or-suggest: target 0.95). All measured with
# `python -m bench.judgement_duplicates FILE`. History (auto-link precision / recall /
# link-or-suggest recall), README "Judged on pairs nobody here wrote":
# - A: 1.000 / 0.077 / 0.862 first; 1.000 / 0.200 / 0.908 after the second round; 1.000 / 0.154 /
#   0.985 after the third. C: 1.000 / 0.167 / 0.867 scored once, then 1.000 / 0.250 / 0.983.
#   D: 0.850 / 0.283 / 0.983 scored once, then 1.000 / 0.267 / 0.983 (one family's other need
#   never merged).
# - Fourth round (2026-12-07). F scored once with the third round's detector: 0.840 / 0.350 /
#   0.983, four look-alikes merged; then the rule that a pair naming another flat, block, floor,
#   employer or junction is never merged (`similarity.specifics`): F 0.950 / 0.317 / 0.983 (seen).
#   H scored once with the third round's detector: 0.833 / 0.333 / 0.983, four merged; with the
#   rule: 0.905 / 0.317 / 0.983, two merged (seen: the rule was chosen with H's first figures in
#   view). A, C and D did not move.
# - Fifth round (2026-12-07, later): another entrance (1单元 / 2单元), the other side of a road
#   (北往南 / 南往北) and a writer saying it is another matter (非同一人, 唔系同一间) are never
#   merged either; H then 1.000 / 0.317 / 0.983 (seen). I, written meanwhile by a new writer and
#   scored once after: 0.952 / 0.333 / 0.967 (the detector before the round scores the same).
# - Sixth round (2026-12-07, session 14). N, by a new writer, scored once with the fifth round's
#   detector: 0.889 / 0.267 / 0.933. Then another illness (心梗 / 乳腺癌), another child (男孩 /
#   女孩) and another compass gate or section (东门 / 西门, 东片 / 西片) are never merged either,
#   works of one park are told apart by name rather than by what they make, and the scorer was
#   refitted on the same tuning files with each pair's phones read as the gateway keeps them.
#   O, by another new writer, scored once with that detector: 1.000 / 0.250 / 0.983 (the fifth
#   round's detector: 1.000 / 0.233 / 0.983). Then, seen: A 1.000 / 0.200 / 0.985, C 1.000 /
#   0.267 / 0.983, D 1.000 / 0.283 / 0.983, F 0.923 / 0.400 / 0.983 (one look-alike more
#   merged, one duplicate more linked), H 1.000 / 0.367 / 0.983, I 1.000 / 0.350 / 0.967,
#   N 0.895 / 0.283 / 0.933, O unchanged.
# Every set is seen data for this detector: regression guards, not estimates. Where a set is
# below a target (F's and N's precision, I's and N's link-or-suggest recall), its floor holds
# what was measured, not what is wanted.
FLOORS: dict[str, float] = {
    "auto_link_precision": 0.95,
    "auto_link_recall": 0.19,
    "link_or_suggest_recall": 0.98,
}
FLOORS_C = {**FLOORS, "auto_link_recall": 0.26}
FLOORS_D = {**FLOORS, "auto_link_recall": 0.28}
FLOORS_F = {**FLOORS, "auto_link_precision": 0.92, "auto_link_recall": 0.39}
FLOORS_H = {**FLOORS, "auto_link_recall": 0.36}
FLOORS_I = {**FLOORS, "auto_link_recall": 0.35, "link_or_suggest_recall": 0.96}
FLOORS_N = {"auto_link_precision": 0.89, "auto_link_recall": 0.28, "link_or_suggest_recall": 0.93}
FLOORS_O = {**FLOORS, "auto_link_recall": 0.25}
CEILINGS: dict[str, int] = {"repeat_pairs_merged": 0}

DATA = Path(__file__).resolve().parents[1] / "data"
INDEPENDENT = DATA / "independent" / "pairs.yaml"
INDEPENDENT_C = DATA / "independent" / "pairs_C.yaml"
INDEPENDENT_D = DATA / "independent" / "pairs_D.yaml"
INDEPENDENT_F = DATA / "independent" / "pairs_F.yaml"
INDEPENDENT_H = DATA / "independent" / "pairs_H.yaml"
INDEPENDENT_I = DATA / "independent" / "pairs_I.yaml"
INDEPENDENT_N = DATA / "independent" / "pairs_N.yaml"
INDEPENDENT_O = DATA / "independent" / "pairs_O.yaml"
SAMPLE = DATA / "judgement_sample.yaml"


async def judged(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # A scratch database of its own on the test server: no other test's appeals as candidates.
    monkeypatch.setattr(common, "ADMIN", PG_ADMIN_URL)
    return await judgement_duplicates.run(path)


async def test_the_harness_reads_the_schema_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    out = await judged(SAMPLE, monkeypatch)
    assert out["pairs"] == 8 and out["labels"] == {"duplicate": 4, "repeat": 1, "distinct": 3}
    for key in (*FLOORS, *CEILINGS, "distinct_pairs_linked", "per_type", "thresholds"):
        assert key in out, key
    assert out["thresholds"]["link_at"] <= 1  # the test environment's override is not used
    assert sum(t["pairs"] for t in out["per_type"].values()) == 8
    # The same phone with another need: flagged as a repeat, never merged.
    assert out["repeat_pairs_merged"] == 0 and out["repeat_pairs_flagged"] == 1
    assert out["town_resolved_right"] == 1.0


def test_a_file_in_another_shape_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.yaml"
    bad.write_text("pairs: []\n", encoding="utf-8")
    with pytest.raises(ValueError):
        judgement_duplicates.load(bad)
    bad.write_text("- {id: x, label: same, a: {}, b: {}}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        judgement_duplicates.load(bad)


@pytest.mark.parametrize(
    ("path", "floors"),
    [
        (INDEPENDENT, FLOORS),
        (INDEPENDENT_C, FLOORS_C),
        (INDEPENDENT_D, FLOORS_D),
        (INDEPENDENT_F, FLOORS_F),
        (INDEPENDENT_H, FLOORS_H),
        (INDEPENDENT_I, FLOORS_I),
        (INDEPENDENT_N, FLOORS_N),
        (INDEPENDENT_O, FLOORS_O),
    ],
    ids=["A", "C", "D", "F", "H", "I", "N", "O"],
)
async def test_independent_sets_meet_the_floors(
    path: Path, floors: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = await judged(path, monkeypatch)
    print(out)
    assert out["pairs"] >= 100
    for name, floor in floors.items():
        assert out[name] is not None and out[name] >= floor, (name, out[name], out)
    for name, ceiling in CEILINGS.items():
        assert out[name] <= ceiling, (name, out[name], out)
