"""Cross-validation and gating: the fusion and thresholds chosen on out-of-fold predictions, the
whole training run, and the seeded validation split a retrain is gated on."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from routing.service.classifier.data import Example
from routing.service.classifier.model import Fusion, HeadScores, Prediction, Thresholds, TriageModel, fuse
from routing.service.classifier.training.fitting import HYPER, Hyper, fit, fit_heads
from routing.service.classifier.training.preparation import Prepared, prepare
from routing.service.classifier.training.validation import Metrics, metrics

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
        fitted = fit_heads([p for i, p in enumerate(prepared) if i not in held], hyper)
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
