"""Duplicate detection on the tuning pairs: the shipped model is the one they give, and on a
validation split the tuning never saw it links precisely and finds nearly every duplicate.

These are development figures (the tuning pairs were written by the same hands as the lexicon);
the figures that count come from the independent set (`test_judgement_duplicates.py`).
Run with `-s` to print the table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import pytest

from intake.service.duplicates import scorer, training
from intake.service.duplicates.lsh import may_meet
from intake.service.duplicates.training import Pair, doc_of, figures, read_pairs, thresholds

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
VALIDATION_SHARE = 0.25
# Floors on the validation split (a quarter of the tuning pairs, never fitted on), a little under
# what was measured: they catch a regression, they are not the targets, which the
# independent sets are held to (test_judgement_duplicates.py). Measured 1.0 / 0.658 / 1.0 on the
# first two tuning files; with the third (E, by a new writer: look-alikes the model tells apart
# only with low confidence) the split is harder: 1.0 / 0.306 / 0.984 (2026-12-06).
FLOORS = {"link_precision": 0.9, "link_recall": 0.25, "any_recall": 0.95}


@lru_cache(maxsize=1)
def tuning_pairs() -> tuple[Pair, ...]:
    return tuple(p for f in training.tuning_files() for p in read_pairs(f))


def in_validation(pair: Pair) -> bool:
    """A stable quarter of the pairs, by a hash of the id (stratification comes from the mix)."""
    digest = hashlib.sha256(f"validation:{pair.id}".encode()).digest()
    return digest[0] < 256 * VALIDATION_SHARE


@dataclass(frozen=True)
class Scored:
    pair: Pair
    score: float  # 0 when the candidate keys would not even bring the two together


def score_all(model: scorer.Model, pairs: list[Pair]) -> list[Scored]:
    out = []
    for p in pairs:
        a, b = doc_of(p.a), doc_of(p.b)
        met = may_meet(a, b, gap=timedelta(hours=max(p.gap_hours, 0.1)))
        feats = training.pair_features(p)
        s = model.probability(feats) if met else 0.0
        if not scorer.may_link(feats):
            # The same person, or another need of one family, is never merged
            # (service.arrival._linkable): at most suggested.
            s = min(s, model.link_at - 1e-4)
        out.append(Scored(p, s))
    return out


def test_the_tuning_set_is_big_and_varied_enough() -> None:
    pairs = tuning_pairs()
    assert len(pairs) >= 100
    assert len({p.id for p in pairs}) == len(pairs)
    assert sum(p.duplicate for p in pairs) >= 50
    assert sum(not p.duplicate for p in pairs) >= 50
    for p in pairs:
        assert p.a.channel in CHANNELS and p.b.channel in CHANNELS
    assert sum(p.a.channel != p.b.channel for p in pairs if p.duplicate) >= 40


def test_the_ceiling_is_the_best_any_threshold_does() -> None:
    # (score, duplicate, linkable): the best cut at precision 1.0 is above 0.7 (2 of 4 duplicates);
    # a duplicate never linkable counts as missed, a look-alike never linkable does not count.
    scored = [
        (0.9, True, True),
        (0.8, True, True),
        (0.7, False, True),
        (0.6, True, True),
        (0.95, True, False),
        (0.99, False, False),
    ]
    assert training.ceiling(scored, precision=1.0) == 0.5
    assert training.ceiling(scored, precision=0.75) == 0.75  # 3 of 4 at 3 of 4 right
    assert training.ceiling([(0.9, False, True)], precision=0.95) == 0.0


def test_one_phone_written_two_ways_is_one_person() -> None:
    """The pairs' phones are read as the gateway keeps them (E.164), so that a repeat from one
    phone written with spaces or +86 is never scored as two people's appeals."""
    assert training.phone_of("137 2281 6034") == training.phone_of("+86 137-2281-6034") == "+8613722816034"
    assert training.phone_of("0769-12345") is None  # a service number is nobody's phone
    assert training.phone_of(None) is None


def test_the_shipped_model_is_what_the_tuning_pairs_give() -> None:
    fitted = training.fit(list(tuning_pairs()))
    shipped = scorer.model().raw
    assert fitted["features"] == shipped["features"]
    assert (fitted["link_at"], fitted["suggest_at"]) == (shipped["link_at"], shipped["suggest_at"])
    assert fitted["coef"] == pytest.approx(shipped["coef"], abs=1e-3)


def test_validation_split(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = list(tuning_pairs())
    train = [p for p in pairs if not in_validation(p)]
    held = [p for p in pairs if in_validation(p)]
    model = scorer.model_from(training.fit(train))
    link_at, suggest_at = model.link_at, model.suggest_at
    rows = score_all(model, held)
    got = figures([(r.score, r.pair.duplicate) for r in rows], link_at, suggest_at)
    with capsys.disabled():
        print(
            f"\nduplicates: {len(pairs)} tuning pairs ({len(train)} fitted / {len(held)} validation); "
            f"link_at={link_at} suggest_at={suggest_at}\n  validation: {got}"
        )
        for source, label in sorted({(r.pair.source, r.pair.label) for r in rows}):
            some = [r for r in rows if (r.pair.source, r.pair.label) == (source, label)]
            linked = sum(r.score >= link_at for r in some)
            shown = sum(r.score >= suggest_at for r in some)
            print(
                f"    {source:18s} {label:9s} {len(some):3d} pairs, {linked:3d} linked, {shown:3d} linked or suggested"
            )
    for name, floor in FLOORS.items():
        assert got[name] >= floor, (name, got)
    # Nothing labelled a repeat (the same person or family, another need) would be merged.
    assert not [r.pair.id for r in rows if r.pair.label == "repeat" and r.score >= link_at]


def test_thresholds_follow_the_rule() -> None:
    # Precision ≥ 0.95 above the link threshold, recall ≥ 0.95 at the suggestion threshold.
    scored = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, True), (0.2, False), (0.1, True)]
    link_at, suggest_at = thresholds(scored)
    assert link_at == 0.8  # below it the 0.7 look-alike would be linked
    assert suggest_at == 0.1  # 5 duplicates: 95% of them is all five


def test_an_independent_evaluation_file_is_never_fitted_on() -> None:
    """The guard `training.main` goes through, on the real evaluation files, however they are named."""
    evaluation = sorted(training.EVALUATION_DIR.glob("pairs*.yaml"))
    assert evaluation, "the independent pair sets are missing"
    for path in evaluation:
        with pytest.raises(training.EvaluationFileRefused):
            training.training_pairs([path])
        # The same file by a path through the folder above it is the same file.
        with pytest.raises(training.EvaluationFileRefused):
            training.training_pairs([path.parent / ".." / path.parent.name / path.name])
    assert training.training_pairs(training.tuning_files())


def test_details_both_give_and_disagree_on_stop_merges_not_duplicates() -> None:
    """On the tuning pairs, the fitted ones and G, J, K, L and M (by five more writers, not
    fitted on), the rule of `scorer.TOLD_APART` (another flat, entrance, employer, junction, side
    of the road or gate, another illness or child, or words saying it is another matter) stops
    look-alikes and repeats and never a pair labelled one matter."""
    data = training.ROOT / "tests" / "data"
    pairs = [
        *tuning_pairs(),
        *(p for name in "GJKLM" for p in read_pairs(data / f"duplicates_tuning_{name}.yaml")),
    ]
    stopped = [p for p in pairs if any(training.pair_features(p)[n] for n in scorer.TOLD_APART)]
    assert len(stopped) >= 70
    assert not [p.id for p in stopped if p.duplicate]
