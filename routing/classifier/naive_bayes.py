"""Multinomial naive Bayes over binary features, in plain Python (no numpy needed at this size).

Train: count in how many documents of each class each feature occurs. Predict: the log posterior
of each class, ``log P(c) + Σ_f log P(f | c)`` over the document's known features, with additive
(Laplace / Lidstone) smoothing ``alpha``. Features seen in fewer than ``min_df`` training
documents are dropped: they cannot generalise and only make the model file bigger.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NaiveBayes:
    """A trained classifier: per-class document counts and per-feature, per-class counts."""

    classes: tuple[str, ...]
    class_docs: tuple[int, ...]
    # feature -> count per class (same order as ``classes``)
    counts: dict[str, tuple[int, ...]]
    alpha: float = 0.3
    _log_prior: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _log_denominator: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        total = sum(self.class_docs)
        n = len(self.classes)
        # Class totals: how many feature occurrences each class has (the multinomial's "length").
        totals = [0] * n
        for row in self.counts.values():
            for i, c in enumerate(row):
                totals[i] += c
        vocabulary = len(self.counts)
        object.__setattr__(
            self,
            "_log_prior",
            tuple(math.log((d + 1) / (total + n)) for d in self.class_docs),
        )
        object.__setattr__(
            self,
            "_log_denominator",
            tuple(math.log(t + self.alpha * vocabulary) for t in totals),
        )

    @classmethod
    def train(
        cls,
        documents: Sequence[frozenset[str]],
        labels: Sequence[str],
        *,
        classes: Sequence[str],
        alpha: float = 0.3,
        min_df: int = 2,
    ) -> NaiveBayes:
        """Fit on feature sets and their labels; every class in ``classes`` is kept, seen or not."""
        index = {c: i for i, c in enumerate(classes)}
        class_docs = [0] * len(classes)
        df: Counter[str] = Counter()
        per_class: dict[str, list[int]] = {}
        for features, label in zip(documents, labels, strict=True):
            k = index[label]
            class_docs[k] += 1
            for f in features:
                df[f] += 1
                per_class.setdefault(f, [0] * len(classes))[k] += 1
        counts = {f: tuple(row) for f, row in per_class.items() if df[f] >= min_df}
        return cls(tuple(classes), tuple(class_docs), counts, alpha)

    def known(self, features: Iterable[str]) -> list[str]:
        """The features of a document the model knows, in a stable order."""
        return sorted(f for f in features if f in self.counts)

    def log_likelihood(self, feature: str, k: int) -> float:
        """log P(feature | class k), smoothed."""
        return math.log(self.counts[feature][k] + self.alpha) - self._log_denominator[k]

    def log_posteriors(self, features: Iterable[str]) -> dict[str, float]:
        """Unnormalised log P(c | x) for every class."""
        scores = list(self._log_prior)
        for f in self.known(features):
            row = self.counts[f]
            for k in range(len(self.classes)):
                scores[k] += math.log(row[k] + self.alpha) - self._log_denominator[k]
        return dict(zip(self.classes, scores, strict=True))

    def evidence(self, features: Iterable[str], chosen: str, against: str, limit: int = 6) -> list[str]:
        """The features that most favour ``chosen`` over ``against``: the classifier's "why"."""
        a, b = self.classes.index(chosen), self.classes.index(against)
        scored = [
            (self.log_likelihood(f, a) - self.log_likelihood(f, b), f)
            for f in self.known(features)
            if self.counts[f][a] > 0
        ]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [f for weight, f in scored[:limit] if weight > 0]

    def to_json(self) -> dict[str, Any]:
        """A compact, JSON-ready form: each feature's counts as a sparse ``{class index: n}``."""
        return {
            "classes": list(self.classes),
            "class_docs": list(self.class_docs),
            "alpha": self.alpha,
            "counts": {
                f: {str(i): c for i, c in enumerate(row) if c} for f, row in sorted(self.counts.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NaiveBayes:
        """Inverse of :meth:`to_json`."""
        classes = tuple(str(c) for c in data["classes"])
        counts = {
            str(f): tuple(int(sparse.get(str(i), 0)) for i in range(len(classes)))
            for f, sparse in data["counts"].items()
        }
        return cls(classes, tuple(int(d) for d in data["class_docs"]), counts, float(data["alpha"]))


def softmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Probabilities from log scores, numerically stable."""
    if not scores:
        return {}
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}
