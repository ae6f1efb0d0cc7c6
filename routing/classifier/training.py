"""Training, cross-validation and scoring of the triage model (pure: data in, model out).

``fit`` trains the three classifiers on every example given. ``tune`` picks the fusion weights and
the manual-queue thresholds by k-fold cross-validation on the training examples only: each fold's
classifiers are trained without that fold, and the fold is predicted under every candidate weight
set (fusion is cheap arithmetic, so the grid costs little). The held-out file is never passed here;
it is only scored, with :func:`score`, after training.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from routing.classifier.data import Example
from routing.classifier.model import (
    ALL_CATEGORIES,
    URGENCIES,
    Posteriors,
    Prediction,
    RuleEvidence,
    Thresholds,
    TriageModel,
    Weights,
    fuse,
)
from routing.classifier.naive_bayes import NaiveBayes
from routing.triage import read

KINDS = ("micro_project", "micro_wish")
ALPHA = 0.3
MIN_DF = 1
FOLDS = 5
SEED = 20261127
# Of the appeals triage decides on its own, at least this share must be right in cross-validation;
# the thresholds that achieve it with the fewest appeals sent to people are chosen.
AUTO_PRECISION = 0.95
KIND_FLOOR = 0.7
DEFAULT_WEIGHTS = Weights()
DEFAULT_THRESHOLDS = Thresholds()

# The weight grid cross-validation searches.
GRID: dict[str, tuple[float, ...]] = {
    "nb_category": (0.05, 0.1, 0.15, 0.25, 0.4),
    "nb_kind": (0.0, 0.15, 0.3),
    "rule_category": (0.3, 0.5, 0.8),
    "rule_kind": (0.0, 0.2, 0.4),
}
URGENCY_GRID: dict[str, tuple[float, ...]] = {
    "nb_urgency": (0.0, 0.1, 0.2, 0.4),
    "rule_urgency": (0.25, 0.5, 1.0, 2.0),
}


@dataclass(frozen=True)
class Prepared:
    """An example read once: its features and the rules' evidence."""

    example: Example
    features: frozenset[str]
    evidence: RuleEvidence


def prepare(examples: Iterable[Example]) -> list[Prepared]:
    """Read every example (normalise, tokenise, match the cue tables)."""
    out = []
    for ex in examples:
        reading = read(ex.title, ex.text, ex.hint)
        out.append(Prepared(ex, reading.features, reading.evidence()))
    return out


@dataclass(frozen=True)
class Metrics:
    """Accuracy on a set of examples, overall and on what triage would decide without a person."""

    n: int
    kind: float
    category: float
    urgency: float
    manual_rate: float
    auto_kind: float
    auto_category: float
    per_category: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One line for a report."""
        return (
            f"n={self.n} kind {self.kind:.1%} category {self.category:.1%} urgency {self.urgency:.1%} "
            f"| manual {self.manual_rate:.1%}, automatic: kind {self.auto_kind:.1%} "
            f"category {self.auto_category:.1%}"
        )


def _metrics(pairs: Sequence[tuple[Example, Prediction]], thresholds: Thresholds) -> Metrics:
    n = len(pairs)
    if n == 0:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    c: Counter[str] = Counter()
    per_cat: Counter[str] = Counter()
    per_cat_n: Counter[str] = Counter()
    for ex, p in pairs:
        manual = p.kind_probability < thresholds.kind or p.category_probability < thresholds.category
        c["kind"] += p.kind == ex.kind
        c["category"] += p.category == ex.category
        c["urgency"] += p.urgency == ex.urgency
        per_cat_n[ex.category] += 1
        per_cat[ex.category] += p.category == ex.category
        if manual:
            c["manual"] += 1
        else:
            c["auto_kind"] += p.kind == ex.kind
            c["auto_category"] += p.category == ex.category
    auto = n - c["manual"]
    return Metrics(
        n=n,
        kind=c["kind"] / n,
        category=c["category"] / n,
        urgency=c["urgency"] / n,
        manual_rate=c["manual"] / n,
        auto_kind=c["auto_kind"] / auto if auto else 1.0,
        auto_category=c["auto_category"] / auto if auto else 1.0,
        per_category={k: per_cat[k] / per_cat_n[k] for k in sorted(per_cat_n)},
    )


def _classifiers(prepared: Sequence[Prepared]) -> tuple[NaiveBayes, NaiveBayes, NaiveBayes]:
    docs = [p.features for p in prepared]
    return (
        NaiveBayes.train(
            docs, [p.example.category for p in prepared], classes=ALL_CATEGORIES, alpha=ALPHA, min_df=MIN_DF
        ),
        NaiveBayes.train(docs, [p.example.kind for p in prepared], classes=KINDS, alpha=ALPHA, min_df=MIN_DF),
        NaiveBayes.train(
            docs, [p.example.urgency for p in prepared], classes=URGENCIES, alpha=ALPHA, min_df=MIN_DF
        ),
    )


def fit(
    prepared: Sequence[Prepared],
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    version: str | None = None,
    meta: dict[str, object] | None = None,
) -> TriageModel:
    """Train the classifiers on all of ``prepared``."""
    category_nb, kind_nb, urgency_nb = _classifiers(prepared)
    sources = Counter(p.example.source.split(":", 1)[0].split("/")[0] for p in prepared)
    return TriageModel(
        version=version or datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        category_nb=category_nb,
        kind_nb=kind_nb,
        urgency_nb=urgency_nb,
        weights=weights,
        thresholds=thresholds,
        meta={"examples": len(prepared), "sources": dict(sources), **(meta or {})},
    )


def score(model: TriageModel, prepared: Sequence[Prepared]) -> Metrics:
    """The model's accuracy on ``prepared`` (use it on the held-out set)."""
    pairs = [(p.example, model.predict(p.features, p.evidence)) for p in prepared]
    return _metrics(pairs, model.thresholds)


def _folds(prepared: Sequence[Prepared], k: int) -> list[list[int]]:
    """Stratified by category, shuffled with a fixed seed: the same split every run."""
    by_category: dict[str, list[int]] = {}
    for i, p in enumerate(prepared):
        by_category.setdefault(p.example.category, []).append(i)
    rng = random.Random(SEED)
    folds: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for category in sorted(by_category):
        indices = by_category[category]
        rng.shuffle(indices)
        for i in indices:
            folds[position % k].append(i)
            position += 1
    return folds


def _out_of_fold(prepared: Sequence[Prepared], k: int) -> list[Posteriors]:
    """Each example's posteriors from classifiers trained without its fold."""
    out: list[Posteriors | None] = [None] * len(prepared)
    for fold in _folds(prepared, k):
        held = set(fold)
        model = fit([p for i, p in enumerate(prepared) if i not in held])
        for i in fold:
            out[i] = model.posteriors(prepared[i].features)
    return [p for p in out if p is not None]


def _choose_thresholds(pairs: Sequence[tuple[Example, Prediction]]) -> Thresholds:
    """The least manual work that keeps automatic decisions at AUTO_PRECISION or better."""
    best: tuple[float, Thresholds] | None = None
    steps = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    # The kind decides the whole process (community consultation or individual help): below
    # KIND_FLOOR a person decides, whatever cross-validation would allow.
    kind_steps = [s for s in steps if s >= KIND_FLOOR]
    for tk, tc in itertools.product(kind_steps, steps):
        t = Thresholds(kind=tk, category=tc)
        m = _metrics(pairs, t)
        precise = m.auto_kind >= AUTO_PRECISION and m.auto_category >= AUTO_PRECISION
        if precise and (best is None or m.manual_rate < best[0]):
            best = (m.manual_rate, t)
    return best[1] if best else Thresholds(kind=0.95, category=0.95)


@dataclass(frozen=True)
class Tuning:
    """What cross-validation chose, and how well it did there."""

    weights: Weights
    thresholds: Thresholds
    cv: Metrics


def tune(prepared: Sequence[Prepared], k: int = FOLDS) -> Tuning:
    """Pick weights and thresholds by k-fold cross-validation on the training examples."""
    posteriors = _out_of_fold(prepared, k)

    def evaluate(w: Weights) -> list[tuple[Example, Prediction]]:
        return [(p.example, fuse(nb, p.evidence, w)) for p, nb in zip(prepared, posteriors, strict=True)]

    def category_objective(w: Weights) -> tuple[float, float]:
        pairs = evaluate(w)
        return (
            sum(p.category == ex.category for ex, p in pairs) / len(pairs),
            sum(p.kind == ex.kind for ex, p in pairs) / len(pairs),
        )

    best_w = Weights()
    best = (-1.0, -1.0)
    for values in itertools.product(*GRID.values()):
        w = replace(best_w, **dict(zip(GRID, values, strict=True)))
        objective = category_objective(w)
        if objective > best:
            best, chosen = objective, w
    best_w = chosen
    best_u = -1.0
    for values in itertools.product(*URGENCY_GRID.values()):
        w = replace(best_w, **dict(zip(URGENCY_GRID, values, strict=True)))
        pairs = evaluate(w)
        accuracy = sum(p.urgency == ex.urgency for ex, p in pairs) / len(pairs)
        if accuracy > best_u:
            best_u, urgency_w = accuracy, w
    pairs = evaluate(urgency_w)
    thresholds = _choose_thresholds(pairs)
    return Tuning(urgency_w, thresholds, _metrics(pairs, thresholds))


def train(examples: Sequence[Example], *, version: str | None = None, k: int = FOLDS) -> TriageModel:
    """Tune by cross-validation, then fit on every example with what was chosen."""
    prepared = prepare(examples)
    tuning = tune(prepared, k)
    return fit(
        prepared,
        weights=tuning.weights,
        thresholds=tuning.thresholds,
        version=version,
        meta={"cv": vars(tuning.cv) | {"folds": k}},
    )
