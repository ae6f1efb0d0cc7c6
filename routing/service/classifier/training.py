"""Training, cross-validation, validation and scoring of the triage model (pure: data in, model out).

``fit`` trains the vectoriser and the three logistic regressions (scikit-learn) on every example
given and copies what inference needs into a :class:`TriageModel`. ``tune`` chooses the fusion
(kind weight, calibration temperature, urgency thresholds) and the manual-queue thresholds on
out-of-fold predictions of k-fold cross-validation over the training examples. ``split`` draws the
validation split (stratified, seeded) that ``guanjia routing train`` gates a retrain on. No
evaluation file is ever passed here: the independent set is only read by ``bench.judgement_triage``.

The hyper-parameters in :class:`Hyper` (regularisation, class weights, document frequency, norm)
were chosen by cross-validation on the training files during development; ``tune`` does not
search them, so a retrain takes seconds.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from routing.service.classifier.data import Example
from routing.service.classifier.linear import LinearHead, Vectoriser
from routing.service.classifier.model import (
    ALL_CATEGORIES,
    KINDS,
    URGENCIES,
    Fusion,
    HeadScores,
    Prediction,
    RuleEvidence,
    Thresholds,
    TriageModel,
    fuse,
)
from routing.service.classifier.triage import read

FOLDS = 5
SEED = 20261206
VALIDATION_SHARE = 0.2
# Of the appeals triage decides on its own, at least this share must have kind and category right
# in cross-validation; the thresholds that achieve it with the fewest appeals sent to people win.
AUTO_PRECISION = 0.97
KIND_FLOOR = 0.6
# Urgency: an emergency missed runs on the 10-day clock instead of 5; the threshold is the
# highest that keeps this recall, as long as urgency accuracy stays at URGENCY_ACCURACY.
EMERGENCY_RECALL = 0.95
URGENCY_ACCURACY = 0.85


@dataclass(frozen=True)
class Hyper:
    """What cross-validation chose during development (see the module docstring)."""

    c_category: float = 20.0
    c_kind: float = 10.0
    c_urgency: float = 100.0
    urgency_weights: tuple[float, float, float] = (1.0, 2.0, 2.0)  # normal, urgent, emergency
    min_df: int = 2
    norm_floor: float = 20.0  # see routing.service.classifier.linear.Vectoriser
    received_calls: bool = True  # also fit each written call as the gateway passes it on


HYPER = Hyper()


@dataclass(frozen=True)
class Prepared:
    """An example read once: its terms and the rules' evidence."""

    example: Example
    terms: tuple[str, ...]
    evidence: RuleEvidence


def prepare(examples: Iterable[Example]) -> list[Prepared]:
    """Read every example (normalise, tokenise, match the cue tables)."""
    out = []
    for ex in examples:
        reading = read(ex.title, ex.text, ex.hint)
        out.append(Prepared(ex, reading.features, reading.evidence()))
    return out


_SPEAKER = re.compile(r"(话务员|接线员|市民|来电人)[：:]")


def caller_words(text: str) -> str | None:
    """A written call (市民：… 话务员：…) as the hotline gateway passes it on: the caller's turns only.

    ``None`` when the text is not a call with at least one operator turn.
    """
    parts = _SPEAKER.split(text)
    turns = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    if not any(who in ("话务员", "接线员") for who, _ in turns):
        return None
    words = [said for who, said in turns if who in ("市民", "来电人") and said]
    return "\n".join(words) or None


def _with_received_calls(prepared: Sequence[Prepared]) -> list[Prepared]:
    """The training rows plus each written call as the system receives it (operator turns dropped).

    Only ever added to the rows a model is fitted on, never to the rows it is scored on.
    """
    extra = []
    for p in prepared:
        words = caller_words(p.example.text)
        if words is not None:
            ex = replace(p.example, text=words, title=None)
            reading = read(None, words, ex.hint)
            extra.append(Prepared(ex, reading.features, reading.evidence()))
    return [*prepared, *extra]


# --- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """Accuracy on a set of examples, overall and on what triage would decide without a person."""

    n: int
    kind: float
    category: float
    urgency: float
    emergency_recall: float
    emergency_precision: float
    manual_rate: float
    auto_kind: float
    auto_category: float
    per_category: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """One line for a report."""
        return (
            f"n={self.n} kind {self.kind:.1%} category {self.category:.1%} urgency {self.urgency:.1%} "
            f"(emergency recall {self.emergency_recall:.1%}, precision {self.emergency_precision:.1%}) "
            f"| manual {self.manual_rate:.1%}, automatic: kind {self.auto_kind:.1%} "
            f"category {self.auto_category:.1%}"
        )


def metrics(pairs: Sequence[tuple[Example, Prediction]], thresholds: Thresholds) -> Metrics:
    """The figures of predictions against their labels."""
    n = len(pairs)
    if n == 0:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    c: Counter[str] = Counter()
    per_cat: Counter[str] = Counter()
    per_cat_n: Counter[str] = Counter()
    for ex, p in pairs:
        manual = p.kind_probability < thresholds.kind or p.category_probability < thresholds.category
        c["kind"] += p.kind == ex.kind
        c["category"] += p.category == ex.category
        c["urgency"] += p.urgency == ex.urgency
        c["emergency"] += ex.urgency == "emergency"
        c["said_emergency"] += p.urgency == "emergency"
        c["emergency_hit"] += ex.urgency == "emergency" and p.urgency == "emergency"
        per_cat_n[ex.category] += 1
        per_cat[ex.category] += p.category == ex.category
        if manual:
            c["manual"] += 1
        else:
            c["auto_kind"] += p.kind == ex.kind
            c["auto_category"] += p.kind == ex.kind and p.category == ex.category
    auto = n - c["manual"]
    return Metrics(
        n=n,
        kind=c["kind"] / n,
        category=c["category"] / n,
        urgency=c["urgency"] / n,
        emergency_recall=c["emergency_hit"] / c["emergency"] if c["emergency"] else 1.0,
        emergency_precision=c["emergency_hit"] / c["said_emergency"] if c["said_emergency"] else 1.0,
        manual_rate=c["manual"] / n,
        auto_kind=c["auto_kind"] / auto if auto else 1.0,
        auto_category=c["auto_category"] / auto if auto else 1.0,
        per_category={k: per_cat[k] / per_cat_n[k] for k in sorted(per_cat_n)},
    )


def score(model: TriageModel, prepared: Sequence[Prepared]) -> Metrics:
    """The model's figures on ``prepared`` (the validation split)."""
    pairs = [(p.example, model.predict(p.terms, p.evidence)) for p in prepared]
    return metrics(pairs, model.thresholds)


# --- fitting -----------------------------------------------------------------------------------


def _identity(terms: Sequence[str]) -> Sequence[str]:
    return terms


@dataclass(frozen=True)
class _Fitted:
    vectoriser: TfidfVectorizer
    category: LogisticRegression
    kind: LogisticRegression
    urgency: LogisticRegression
    hyper: Hyper

    def matrix(self, prepared: Sequence[Prepared]) -> sparse.csr_matrix:
        return _normalise(self.vectoriser.transform([p.terms for p in prepared]), self.hyper.norm_floor)

    def heads(self, prepared: Sequence[Prepared]) -> list[HeadScores]:
        x = self.matrix(prepared)
        cat = self.category.predict_log_proba(x)
        kind = self.kind.predict_log_proba(x)
        urg = self.urgency.predict_log_proba(x)
        return [
            HeadScores(
                category=_named(self.category, cat[i], ALL_CATEGORIES),
                kind=_named(self.kind, kind[i], KINDS),
                urgency=_named(self.urgency, urg[i], URGENCIES),
            )
            for i in range(len(prepared))
        ]


def _named(lr: LogisticRegression, row: Any, classes: Sequence[str]) -> dict[str, float]:
    # A class absent from the training rows (a tiny retrain) has no column: it gets ~0 probability.
    known = {str(c): float(v) for c, v in zip(lr.classes_, row, strict=True)}
    return {c: known.get(c, -30.0) for c in classes}


def _normalise(text: Any, floor: float) -> sparse.csr_matrix:
    """Each row divided by max(its L2 norm, floor), as the Vectoriser does at inference."""
    rows = sparse.csr_matrix(text)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    divisors = np.maximum(norms, floor)
    divisors[divisors == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / divisors) @ rows)


def _logistic(c: float, class_weight: dict[str, float] | None = None) -> LogisticRegression:
    # newton-cg is deterministic (the same rows in the same order give the same coefficients) and
    # converges in a few iterations on these small, sparse problems.
    return LogisticRegression(C=c, solver="newton-cg", max_iter=500, class_weight=class_weight)


def _fit_heads(prepared: Sequence[Prepared], hyper: Hyper) -> _Fitted:
    # One BLAS thread: these problems are small, and threads fighting over shared cores made a
    # fit twenty times slower.
    with threadpool_limits(limits=1):
        return _fit_heads_now(prepared, hyper)


def _fit_heads_now(rows: Sequence[Prepared], hyper: Hyper) -> _Fitted:
    prepared = _with_received_calls(rows) if hyper.received_calls else rows
    vectoriser = TfidfVectorizer(
        analyzer=_identity, binary=True, min_df=hyper.min_df, norm=None, smooth_idf=True, dtype=np.float64
    )
    x = _normalise(vectoriser.fit_transform([p.terms for p in prepared]), hyper.norm_floor)
    urgency_weights: dict[str, float] = dict(zip(URGENCIES, hyper.urgency_weights, strict=True))
    return _Fitted(
        vectoriser=vectoriser,
        category=_logistic(hyper.c_category).fit(x, [p.example.category for p in prepared]),
        kind=_logistic(hyper.c_kind).fit(x, [p.example.kind for p in prepared]),
        urgency=_logistic(hyper.c_urgency, urgency_weights).fit(x, [p.example.urgency for p in prepared]),
        hyper=hyper,
    )


def _head(lr: LogisticRegression, classes: Sequence[str]) -> LinearHead:
    """A fitted regression as arrays, rows reordered to ``classes`` (missing classes never win)."""
    learned = [str(c) for c in lr.classes_]
    coef = np.asarray(lr.coef_, dtype=np.float64)
    intercept = np.asarray(lr.intercept_, dtype=np.float64)
    if len(classes) == 2 and learned == list(classes):
        return LinearHead(tuple(classes), coef, intercept)
    if len(learned) == 2:  # a binary fit of a multi-class head: expand to one row per class
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    rows, bias = [], []
    for c in classes:
        if c in learned:
            rows.append(coef[learned.index(c)])
            bias.append(intercept[learned.index(c)])
        else:
            rows.append(np.zeros(coef.shape[1]))
            bias.append(-30.0)
    return LinearHead(tuple(classes), np.vstack(rows), np.asarray(bias))


def fit(
    prepared: Sequence[Prepared],
    *,
    fusion: Fusion | None = None,
    thresholds: Thresholds | None = None,
    version: str | None = None,
    meta: dict[str, object] | None = None,
    hyper: Hyper = HYPER,
) -> TriageModel:
    """Train the vectoriser and the heads on all of ``prepared``."""
    fitted = _fit_heads(prepared, hyper)
    vocabulary = fitted.vectoriser.get_feature_names_out()
    sources = Counter(p.example.source.split(":", 1)[0].split("[")[0] for p in prepared)
    return TriageModel(
        version=version or datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        vectoriser=Vectoriser(
            tuple(str(t) for t in vocabulary), np.asarray(fitted.vectoriser.idf_), hyper.norm_floor
        ),
        category_head=_head(fitted.category, ALL_CATEGORIES),
        kind_head=_head(fitted.kind, KINDS),
        urgency_head=_head(fitted.urgency, URGENCIES),
        fusion=fusion or Fusion(),
        thresholds=thresholds or Thresholds(),
        meta={"examples": len(prepared), "sources": dict(sorted(sources.items())), **(meta or {})},
    )


# --- cross-validation and tuning --------------------------------------------------------------


def folds(labels: Sequence[str], k: int, seed: int = SEED) -> list[list[int]]:
    """Stratified by label, shuffled with a fixed seed: the same split every run."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for i in indices:
            out[position % k].append(i)
            position += 1
    return out


def out_of_fold(prepared: Sequence[Prepared], k: int = FOLDS, hyper: Hyper = HYPER) -> list[HeadScores]:
    """Each example's head scores from heads trained without its fold."""
    out: list[HeadScores | None] = [None] * len(prepared)
    for fold in folds([_stratum(p.example) for p in prepared], k):
        held = set(fold)
        fitted = _fit_heads([p for i, p in enumerate(prepared) if i not in held], hyper)
        for i, scores in zip(fold, fitted.heads([prepared[i] for i in fold]), strict=True):
            out[i] = scores
    return [s for s in out if s is not None]


def _stratum(ex: Example) -> str:
    # Emergencies are few: keep them spread over the folds as well as the categories.
    return f"{ex.category}/{ex.urgency == 'emergency'}"


@dataclass(frozen=True)
class Tuning:
    """What cross-validation chose, and how well it did there."""

    fusion: Fusion
    thresholds: Thresholds
    cv: Metrics


def _log_loss(pairs: Sequence[tuple[Example, Prediction]]) -> float:
    return -sum(math.log(max(p.categories[ex.category], 1e-12)) for ex, p in pairs) / len(pairs)


def choose_fusion(prepared: Sequence[Prepared], heads: Sequence[HeadScores]) -> Fusion:
    """Kind weight by accuracy, temperature by log-loss, urgency thresholds by emergency recall."""

    def run(f: Fusion) -> list[tuple[Example, Prediction]]:
        return [(p.example, fuse(h, p.evidence, f)) for p, h in zip(prepared, heads, strict=True)]

    def accuracy(f: Fusion) -> tuple[float, float]:
        pairs = run(f)
        return (
            sum(p.kind == ex.kind and p.category == ex.category for ex, p in pairs),
            sum(p.kind == ex.kind for ex, p in pairs),
        )

    beta = max((0.0, 0.5, 1.0, 1.5, 2.0), key=lambda b: (accuracy(Fusion(kind_weight=b)), -b))
    temperature = min(
        (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0),
        key=lambda t: _log_loss(run(Fusion(kind_weight=beta, temperature=t))),
    )
    base = Fusion(kind_weight=beta, temperature=temperature)
    steps = [0.02, 0.03, 0.04, *(round(0.05 * i, 2) for i in range(1, 19))]
    best: tuple[tuple[float, ...], Fusion] | None = None
    for te, tu in itertools.product(steps, steps[3:]):
        f = Fusion(base.kind_weight, base.temperature, te, tu)
        m = metrics(run(f), Thresholds(0.0, 0.0))
        # Meet the recall target if at all possible, keep accuracy, then be as precise as can be.
        key = (
            float(m.emergency_recall >= EMERGENCY_RECALL and m.urgency >= URGENCY_ACCURACY),
            float(m.urgency >= URGENCY_ACCURACY),
            m.emergency_recall if m.emergency_recall < EMERGENCY_RECALL else EMERGENCY_RECALL,
            m.urgency,
            te,
        )
        if best is None or key > best[0]:
            best = (key, f)
    assert best is not None
    return best[1]


def choose_thresholds(pairs: Sequence[tuple[Example, Prediction]]) -> Thresholds:
    """The least manual work that keeps automatic decisions at AUTO_PRECISION or better."""
    best: tuple[float, Thresholds] | None = None
    steps = [round(0.3 + 0.025 * i, 3) for i in range(28)]
    for tk, tc in itertools.product([s for s in steps if s >= KIND_FLOOR], steps):
        t = Thresholds(kind=tk, category=tc)
        m = metrics(pairs, t)
        precise = m.auto_kind >= AUTO_PRECISION and m.auto_category >= AUTO_PRECISION
        if precise and (best is None or m.manual_rate < best[0]):
            best = (m.manual_rate, t)
    return best[1] if best else Thresholds(kind=0.95, category=0.95)


def tune(prepared: Sequence[Prepared], k: int = FOLDS, hyper: Hyper = HYPER) -> Tuning:
    """Choose the fusion and the thresholds on k-fold out-of-fold predictions of the training set."""
    heads = out_of_fold(prepared, k, hyper)
    fusion = choose_fusion(prepared, heads)
    pairs = [(p.example, fuse(h, p.evidence, fusion)) for p, h in zip(prepared, heads, strict=True)]
    thresholds = choose_thresholds(pairs)
    return Tuning(fusion, thresholds, metrics(pairs, thresholds))


def train(
    examples: Sequence[Example], *, version: str | None = None, k: int = FOLDS, hyper: Hyper = HYPER
) -> TriageModel:
    """Tune by cross-validation, then fit on every example with what was chosen."""
    prepared = prepare(examples)
    tuning = tune(prepared, k, hyper)
    cv = {key: value for key, value in vars(tuning.cv).items() if key != "per_category"}
    return fit(
        prepared,
        fusion=tuning.fusion,
        thresholds=tuning.thresholds,
        version=version,
        meta={"cv": cv | {"folds": k}},
        hyper=hyper,
    )


def split(
    examples: Sequence[Example], share: float = VALIDATION_SHARE, seed: int = SEED
) -> tuple[list[Example], list[Example]]:
    """(training, validation): a stratified, seeded share of every category and urgency held back."""
    k = max(2, round(1 / share))
    held = set(folds([_stratum(e) for e in examples], k, seed)[0])
    return (
        [e for i, e in enumerate(examples) if i not in held],
        [e for i, e in enumerate(examples) if i in held],
    )
