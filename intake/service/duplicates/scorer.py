"""The duplicate scorer (pure, no I/O): pair features and a logistic model over them.

Why a model and not hand-set weights: the evidence for "one matter" is many small signals — the
same object in other words (concepts), the same kind of need (families), words and characters in
common, how far apart the two spots are, whether both name one road, whether one person or family
is named in both, whether one phone filed both — and their weights were guessed before. Now they
are fitted: scikit-learn's logistic regression (`intake.service.duplicates.training`) on the labelled
tuning pairs, whose output is a probability, so a threshold means "this sure". The fitted
standardisation, coefficients and the thresholds chosen on out-of-fold predictions ship in
`model.json`; scoring needs no scikit-learn (a dot product and a sigmoid).

Look-alikes the features are there to tell apart: the same place with another problem (objects
of another concept or family), the same problem at another spot (distance, two different roads,
two villages), another family's similar need (different persons named, a personal family of need
with nothing tying the two people together), and the same person with another need (the phone
ties them, the concepts do not: that is a *repeat*, suggested, never merged).
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from intake.service.duplicates.similarity import (
    Doc,
    dice,
    distance_m,
    idf,
    idf_overlap,
    jaccard,
    location_score,
    same_persons,
    specifics,
    text_score,
)

MODEL_FILE = Path(__file__).with_name("model.json")
_ARABIC_RE = re.compile(r"\d+(?:\.\d+)?")
_HANZI_NUM_RE = re.compile(r"[零一二两三四五六七八九十百千万]{2,}|[两三四五六七八九十百千万]")
_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
RARE_IDF = 9.0  # a word rarer than this in general text (jieba's IDF) is a telling detail


@dataclass(frozen=True)
class Match:
    """A scored pair: the probability that they are one matter, the features, and the reasons."""

    score: float
    text: float
    place: float
    reasons: tuple[str, ...]
    features: dict[str, float]


def _share(a: frozenset[str], b: frozenset[str]) -> float:
    """|A ∩ B| / min(|A|, |B|): one appeal naming a second thing is not another problem."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _hanzi_number(word: str) -> int:
    # 三十八 -> 38, 十五 -> 15, 两万 -> 20000; enough for ages, counts, sums and house numbers.
    total = section = digit = 0
    for ch in word:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch == "万":
            total, section, digit = (total + section + digit) * 10000, 0, 0
        else:
            section += (digit or 1) * _UNITS[ch]
            digit = 0
    return total + section + digit


@lru_cache(maxsize=4096)
def numbers(text: str) -> frozenset[float]:
    """The numbers a text gives (8盏, 三十多名, 1.2米, 5栋), Arabic or Chinese: writers who
    describe one matter tend to agree on them (a house number, an age, a sum, a count)."""
    out = {float(m.group(0)) for m in _ARABIC_RE.finditer(text)}
    out |= {float(_hanzi_number(m.group(0))) for m in _HANZI_NUM_RE.finditer(text)}
    return frozenset(n for n in out if n > 1)


def _specific(a: Doc, b: Doc) -> tuple[frozenset[str], frozenset[str]]:
    # 房屋 alone says "a building"; when both name something more specific, compare that.
    sa, sb = a.specific_objects, b.specific_objects
    return (sa, sb) if sa and sb else (a.objects, b.objects)


def features(
    a: Doc,
    b: Doc,
    *,
    same_person: bool = False,
    gap_hours: float = 24.0,
    likeness: tuple[float, float] | None = None,
) -> dict[str, float]:
    """What the model sees of a pair (every value a float, most in [0, 1]); `likeness` is
    (text_score, location_score) when the caller has them already."""
    # A lookup scores dozens of pairs per arrival: what depends on one side only is kept on its
    # Doc, and what the features use twice is worked out once (the values are the same).
    text, place = likeness if likeness is not None else (text_score(a, b)[0], location_score(a, b)[0])
    # Every value below is a float once these two are (the rest are floats, float() of a bool or
    # ratios), so the dictionary is returned as built, not copied through float() again.
    text, place = float(text), float(place)
    both_obj = bool(a.objects and b.objects)
    fam_a, fam_b = a.families, b.families
    both_fam = bool(fam_a and fam_b)
    fam_share = _share(fam_a, fam_b)
    personal = a.personal or b.personal
    both_cond = bool(a.conditions and b.conditions)
    cond_jaccard = jaccard(a.conditions, b.conditions) if both_cond else None
    dist = distance_m(a, b)
    spec_a, spec_b = a.specific_places, b.specific_places
    conflict = bool(spec_a and spec_b and not spec_a & spec_b)
    same_kind_conflict = conflict and a.specific_place_kinds & b.specific_place_kinds != frozenset()
    told_apart = specifics.told_apart(a.text, b.text, spec_a, spec_b)
    persons_both = bool(a.persons and b.persons)
    same_named = bool(persons_both and same_persons(a.persons, b.persons))
    same_village = a.village_code is not None and a.village_code == b.village_code
    same_town = a.town_code is not None and a.town_code == b.town_code
    obj_a, obj_b = _specific(a, b)
    obj_share = _share(obj_a, obj_b)
    both_kin, both_ages = bool(a.kin and b.kin), bool(a.ages and b.ages)
    age_match = any(abs(x - y) <= 1 for x in a.ages for y in b.ages)
    idf_jaccard, idf_share = idf_overlap(a.words, b.words)
    rare_shared = sum(1 for w in a.words & b.words if idf(w) >= RARE_IDF)
    near = (dist is not None and dist <= 500) or same_village
    nums_a, nums_b = numbers(a.text), numbers(b.text)
    both_nums = bool(nums_a and nums_b)
    bigram_dice = dice(a.bigrams, b.bigrams)
    out = {
        "text_score": text,
        "place_score": place,
        "text_x_place": text * place,
        "obj_both": float(both_obj),
        "obj_jaccard": jaccard(obj_a, obj_b),
        "obj_share": obj_share,
        "obj_conflict": float(both_obj and not obj_a & obj_b),
        "obj_one_missing": float(bool(a.objects) != bool(b.objects)),
        "fam_share": fam_share,
        "fam_conflict": float(both_fam and not fam_a & fam_b),
        "cond_jaccard": cond_jaccard if cond_jaccard is not None else 0.0,
        "cond_conflict": float(both_cond and not a.conditions & b.conditions),
        "words_jaccard": jaccard(a.words, b.words),
        "bigram_dice": bigram_dice,
        "personal": float(personal),
        "persons_same": float(same_named),
        "persons_other": float(persons_both and not same_named),
        "same_person": float(same_person),
        "same_person_x_obj": float(same_person) * obj_share,
        "personal_x_tie": float(personal and (same_person or same_named)),
        "personal_untied": float(personal and not (same_person or same_named)),
        "has_distance": float(dist is not None),
        "near_150": float(dist is not None and dist <= 150),
        "near_500": float(dist is not None and dist <= 500),
        "near_1500": float(dist is not None and dist <= 1500),
        "far_3000": float(dist is not None and dist > 3000),
        "same_village": float(same_village),
        "other_village": float(
            a.village_code is not None and b.village_code is not None and not same_village
        ),
        "same_town": float(same_town),
        "other_town": float(a.town_code is not None and b.town_code is not None and not same_town),
        "place_shared": float(bool(spec_a & spec_b)),
        # Two roads, or two estates, that differ are two spots; a park gate and the road
        # junction beside it may be one spot described two ways.
        "place_conflict_same_kind": float(same_kind_conflict),
        "place_conflict_other_kind": float(conflict and not same_kind_conflict),
        "spot_same": float(bool(a.spots & b.spots)),
        "spot_other": float(bool(a.spots and b.spots and not a.spots & b.spots)),
        "kin_same": float(bool(a.kin & b.kin)),
        "kin_other": float(both_kin and not a.kin & b.kin),
        "age_same": float(age_match),
        "age_other": float(both_ages and not age_match),
        "gap_log_days": math.log1p(max(gap_hours, 0.0) / 24.0),
        "gap_within_day": float(gap_hours <= 24),
        "gap_within_3_days": float(gap_hours <= 72),
        "words_idf_jaccard": idf_jaccard,
        "words_idf_share": idf_share,
        "rare_words_shared": min(rare_shared, 3) / 3,
        "near_x_obj_share": float(near) * obj_share,
        "near_x_fam_share": float(near) * fam_share,
        # Carried across writers: the numbers they give (a count, an age, a sum, a house number).
        # The same words about another named road or estate: another spot with the same problem
        # (another street light in the same village), whoever wrote it.
        "text_x_spot_conflict": text * float(same_kind_conflict),
        "bigram_x_spot_conflict": bigram_dice * float(same_kind_conflict),
        "num_same": float(both_nums and bool(nums_a & nums_b)),
        "num_other": float(both_nums and not nums_a & nums_b),
        "obj_none": float(not a.objects and not b.objects),
        "near_x_text": float(near) * text,
        "same_town_x_obj_share": float(same_town) * obj_share,
        "fam_share_x_cond": fam_share * (cond_jaccard if cond_jaccard is not None else 0.5),
    }
    # Another flat of the block, another employer, another junction of the road, or a writer
    # saying it is another matter: read by `may_link` as a rule, never weighed by the model.
    for detail in TOLD_APART:
        out[detail] = float(detail in told_apart)
    return out


# Evidence with a known direction: more likeness never lowers the score, a conflict never raises
# it. Training drops a feature whose fitted weight comes out the wrong way (collinear features
# can trade signs on a small set, and such a model scores two identical appeals low).
MORE_IS_SAME: frozenset[str] = frozenset(
    {
        "text_score", "place_score", "text_x_place", "obj_jaccard", "obj_share", "fam_share",
        "cond_jaccard", "words_jaccard", "bigram_dice", "words_idf_jaccard", "words_idf_share",
        "rare_words_shared", "near_x_obj_share", "near_x_fam_share", "persons_same", "kin_same",
        "age_same", "place_shared", "near_150", "near_500", "spot_same", "num_same",
        "near_x_text", "same_town_x_obj_share", "fam_share_x_cond",
    }
)  # fmt: skip
MORE_IS_OTHER: frozenset[str] = frozenset(
    {
        "obj_conflict", "fam_conflict", "cond_conflict", "persons_other", "kin_other", "age_other",
        "far_3000", "other_village", "other_town", "place_conflict_same_kind", "spot_other", "num_other",
        "text_x_spot_conflict", "bigram_x_spot_conflict",
    }
)  # fmt: skip


# Details both sides give and disagree on (`similarity.specifics`). A rule, not evidence to weigh:
# fitted, they would move the model's other weights and its thresholds for the few pairs that
# carry them, while as a rule they only ever stop a merge.
TOLD_APART = specifics.DETAILS


def may_link(feats: dict[str, float]) -> bool:
    """Whether a pair may be merged without a person at all, whatever its score.

    A person's or family's need (`personal`) is merged on its own only when every need the two
    name agrees (`obj_share` 1): the same old man asking for a wheelchair and then for day care is
    the same family with another need (a repeat), to be shown to staff, never folded into the
    first. One phone behind both is never merged either (`same_person`: see
    `service.arrival._linkable`), nor two that name different flats, employers or junctions, nor
    one whose writer says it is another matter (`similarity.specifics`)."""
    if feats.get("same_person", 0.0):
        return False
    # Details both give and disagree on (another flat, employer or junction), or words saying it
    # is another matter: two look-alikes more often than one told wrongly, and a merge is the
    # costly mistake.
    if any(feats.get(name, 0.0) for name in TOLD_APART):
        return False
    return not (feats.get("personal", 0.0) and feats.get("obj_share", 0.0) < 1.0)


@dataclass(frozen=True)
class Model:
    """A fitted logistic model over `features`, with the thresholds chosen for it."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    link_at: float
    suggest_at: float
    raw: dict[str, Any]

    @cached_property
    def _terms(self) -> tuple[tuple[str, float, float, float], ...]:
        # (name, mean, scale, weight) per feature, zipped once rather than on every pair.
        return tuple(
            (name, mu, sd or 1.0, w)
            for name, mu, sd, w in zip(self.names, self.mean, self.scale, self.coef, strict=True)
        )

    @cached_property
    def _values(self) -> Callable[[dict[str, float]], tuple[float, ...]]:
        # The model's features out of a pair's dictionary in one call (a lookup scores dozens).
        if not self.names:
            return lambda feats: ()
        getter = operator.itemgetter(*self.names)
        return getter if len(self.names) > 1 else lambda feats: (getter(feats),)

    def probability(self, feats: dict[str, float]) -> float:
        """P(one matter | features)."""
        z = self.intercept
        try:
            values = self._values(feats)
        except KeyError:  # a feature the dictionary lacks counts as 0
            values = tuple(feats.get(name, 0.0) for name in self.names)
        # The same terms, added in the same order, as one per feature: the same float.
        for value, (_, mu, sd, w) in zip(values, self._terms, strict=True):
            z += w * (value - mu) / sd
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def model_from(raw: dict[str, Any]) -> Model:
    """A Model from its JSON form (what `training` writes)."""
    return Model(
        names=tuple(raw["features"]),
        mean=tuple(raw["mean"]),
        scale=tuple(raw["scale"]),
        coef=tuple(raw["coef"]),
        intercept=float(raw["intercept"]),
        link_at=float(raw["link_at"]),
        suggest_at=float(raw["suggest_at"]),
        raw=raw,
    )


@lru_cache(maxsize=1)
def model() -> Model:
    """The shipped model (`model.json`, written by `python -m intake.service.duplicates.training`)."""
    return model_from(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def score(a: Doc, b: Doc, *, same_person: bool = False, gap_hours: float = 24.0) -> Match:
    """How sure the model is that `b` is the same matter as `a`, with reasons staff can check."""
    text, text_reasons = text_score(a, b)
    place, place_reasons = location_score(a, b)
    feats = features(a, b, same_person=same_person, gap_hours=gap_hours, likeness=(text, place))
    reasons = list(text_reasons + place_reasons)
    if same_person:
        reasons.append("同一反映人")
    return Match(round(model().probability(feats), 4), round(text, 4), round(place, 4), tuple(reasons), feats)
