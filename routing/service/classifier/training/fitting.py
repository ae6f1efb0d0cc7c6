"""Fitting: the vectoriser and the three logistic regressions (scikit-learn), copied into a model.

``fit`` trains on every example given and copies what inference needs into a :class:`TriageModel`.
The hyper-parameters in :class:`Hyper` (regularisation, class weights, document frequency, norm)
were chosen by cross-validation on the training files during development; ``tune`` does not
search them, so a retrain takes seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from routing.service.classifier.linear import LinearHead, Vectoriser
from routing.service.classifier.model import (
    ALL_CATEGORIES,
    KINDS,
    URGENCIES,
    Fusion,
    HeadScores,
    Thresholds,
    TriageModel,
)
from routing.service.classifier.training.preparation import Prepared, with_received_calls


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


def fit_heads(prepared: Sequence[Prepared], hyper: Hyper) -> _Fitted:
    """The vectoriser and the three heads fitted on ``prepared`` (scikit-learn objects, not a model)."""
    # One BLAS thread: these problems are small, and threads fighting over shared cores made a
    # fit twenty times slower.
    with threadpool_limits(limits=1):
        return _fit_heads_now(prepared, hyper)


def _fit_heads_now(rows: Sequence[Prepared], hyper: Hyper) -> _Fitted:
    prepared = with_received_calls(rows) if hyper.received_calls else rows
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
    fitted = fit_heads(prepared, hyper)
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
