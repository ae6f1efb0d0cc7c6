"""Validation: a model's figures on labelled examples, overall and on what triage decides alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from routing.service.classifier.data import Example
from routing.service.classifier.model import Prediction, Thresholds, TriageModel
from routing.service.classifier.training.preparation import Prepared


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
