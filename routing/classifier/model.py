"""The triage model: three naive Bayes classifiers fused with the rules' evidence.

For each appeal the rules (``routing.lexicon`` cue tables, the operator's hint, counted groups and
named persons) give a score per category and per kind, and an emergency and a hazard score; the
classifiers give log posteriors for category, kind and urgency. The fused score of a category is

    z(c) = a·log P_nb(c|x) + d·log P_nb(kind(c)|x) + b·rules(c) + g·rules(kind(c)) + facts(c)

and its probability the softmax of z over all 13 categories; ``facts`` are structured inputs that
count as they are (a clerk's exact category code, the channel's beneficiary count). The kind's probability is the sum
over its categories, so kind and category never disagree. Urgency is fused the same way, with
the rules' thresholds as the zero point. The weights and the confidence thresholds below which an
appeal goes to the town's manual triage queue are chosen by cross-validation on the training set
(``routing.classifier.training``), never on the held-out set.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from routing.classifier.naive_bayes import NaiveBayes, softmax
from routing.policies import CATEGORIES_BY_KIND, Category, Kind

MODEL_FORMAT = 1
SHIPPED_MODEL = "triage_model.json.gz"
KIND_OF: dict[str, Kind] = {c: k for k, cats in CATEGORIES_BY_KIND.items() for c in cats}
ALL_CATEGORIES: tuple[Category, ...] = tuple(c for cats in CATEGORIES_BY_KIND.values() for c in cats)
URGENCIES: tuple[str, ...] = ("normal", "urgent", "emergency")
# The rules' own cut-offs: a cue sum above them is where the rules alone would call it.
EMERGENCY_POINT = 2.0
URGENT_POINT = 2.5


@dataclass(frozen=True)
class Weights:
    """How much each source of evidence counts in the fused scores."""

    nb_category: float = 0.25
    nb_kind: float = 0.25
    rule_category: float = 0.8
    rule_kind: float = 0.4
    nb_urgency: float = 0.2
    rule_urgency: float = 1.0


@dataclass(frozen=True)
class Thresholds:
    """Below these confidences a person triages the appeal (the town's manual queue)."""

    kind: float = 0.75
    category: float = 0.55


@dataclass(frozen=True)
class RuleEvidence:
    """What the rules found, before any decision."""

    category: dict[str, float]
    kind: dict[str, float]
    emergency: float
    urgent: float
    # Structured facts that count as they are, outside the learned weights: a clerk's exact
    # category code, the channel's beneficiary count.
    direct_category: dict[str, float] = field(default_factory=dict)
    direct_kind: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    """Fused probabilities, and the classifier's words for each decision."""

    kind: Kind
    kind_probability: float
    category: Category
    category_probability: float  # P(category | kind)
    urgency: str
    urgency_probability: float
    categories: dict[str, float]
    model_words: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TriageModel:
    """Everything triage learns from labelled appeals; saved as one small gzipped JSON file."""

    version: str
    category_nb: NaiveBayes
    kind_nb: NaiveBayes
    urgency_nb: NaiveBayes
    weights: Weights = Weights()
    thresholds: Thresholds = Thresholds()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    # --- prediction ---------------------------------------------------------------------------

    def predict(self, features: frozenset[str], rules: RuleEvidence) -> Prediction:
        """Fuse the classifiers and the rules into one decision with probabilities."""
        posteriors = self.posteriors(features)
        fused = fuse(posteriors, rules, self.weights)
        runner_up = max(
            (c for c in CATEGORIES_BY_KIND[fused.kind] if c != fused.category),
            key=lambda c: fused.categories[c],
        )
        other_kind: Kind = "micro_project" if fused.kind == "micro_wish" else "micro_wish"
        against = "normal" if fused.urgency != "normal" else "urgent"
        words = {
            "category": self._words(self.category_nb, features, fused.category, runner_up),
            "kind": self._words(self.kind_nb, features, fused.kind, other_kind),
            "urgency": self._words(self.urgency_nb, features, fused.urgency, against),
        }
        return Prediction(**{**vars(fused), "model_words": words})

    def posteriors(self, features: frozenset[str]) -> Posteriors:
        """The three classifiers' normalised log posteriors."""
        return Posteriors(
            category=_log_normalise(self.category_nb.log_posteriors(features)),
            kind=_log_normalise(self.kind_nb.log_posteriors(features)),
            urgency=_log_normalise(self.urgency_nb.log_posteriors(features)),
        )

    @staticmethod
    def _words(nb: NaiveBayes, features: frozenset[str], chosen: str, against: str) -> tuple[str, ...]:
        picked: list[str] = []
        for f in nb.evidence(features, chosen, against, limit=12):
            word = f.split(":", 1)[1]
            if "0" in word or any(word in p or p in word for p in picked):
                continue  # digit placeholders and overlapping n-grams read badly
            picked.append(word)
        return tuple(picked[:5])

    # --- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON data."""
        return {
            "format": MODEL_FORMAT,
            "version": self.version,
            "weights": vars(self.weights),
            "thresholds": vars(self.thresholds),
            "meta": self.meta,
            "category_nb": self.category_nb.to_json(),
            "kind_nb": self.kind_nb.to_json(),
            "urgency_nb": self.urgency_nb.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TriageModel:
        """Inverse of :meth:`to_json`; refuses a format it does not know."""
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"unknown triage model format {data.get('format')!r}")
        return cls(
            version=str(data["version"]),
            category_nb=NaiveBayes.from_json(data["category_nb"]),
            kind_nb=NaiveBayes.from_json(data["kind_nb"]),
            urgency_nb=NaiveBayes.from_json(data["urgency_nb"]),
            weights=Weights(**data["weights"]),
            thresholds=Thresholds(**data["thresholds"]),
            meta=dict(data.get("meta", {})),
        )

    def dumps(self) -> bytes:
        """Gzipped JSON bytes (deterministic: no timestamps in the gzip header)."""
        raw = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0)

    @classmethod
    def loads(cls, blob: bytes) -> TriageModel:
        """Inverse of :meth:`dumps`."""
        return cls.from_json(json.loads(gzip.decompress(blob).decode("utf-8")))

    def save(self, path: Path) -> None:
        """Write the model file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.dumps())


@dataclass(frozen=True)
class Posteriors:
    """Normalised log posteriors of the three classifiers for one appeal."""

    category: dict[str, float]
    kind: dict[str, float]
    urgency: dict[str, float]


def fuse(nb: Posteriors, rules: RuleEvidence, w: Weights) -> Prediction:
    """The fused decision (pure arithmetic: cross-validation calls it for every weight tried)."""
    z: dict[str, float] = {
        c: w.nb_category * nb.category[c]
        + w.nb_kind * nb.kind[KIND_OF[c]]
        + w.rule_category * rules.category.get(c, 0.0)
        + w.rule_kind * rules.kind.get(KIND_OF[c], 0.0)
        + rules.direct_category.get(c, 0.0)
        + rules.direct_kind.get(KIND_OF[c], 0.0)
        for c in ALL_CATEGORIES
    }
    p = softmax(z)
    p_kind = {k: sum(p[c] for c in cats) for k, cats in CATEGORIES_BY_KIND.items()}
    kind: Kind = max(p_kind, key=lambda k: (p_kind[k], k == "micro_wish"))
    category: Category = max(CATEGORIES_BY_KIND[kind], key=lambda c: p[c])
    zu = {
        "normal": w.nb_urgency * nb.urgency["normal"],
        "urgent": w.nb_urgency * nb.urgency["urgent"] + w.rule_urgency * (rules.urgent - URGENT_POINT),
        "emergency": w.nb_urgency * nb.urgency["emergency"]
        + w.rule_urgency * (rules.emergency - EMERGENCY_POINT),
    }
    if kind == "micro_project":
        del zu["emergency"]  # an emergency (急难) is an individual's; a group's is a hazard
    pu = softmax(zu)
    urgency = max(pu, key=lambda u: pu[u])
    return Prediction(
        kind=kind,
        kind_probability=p_kind[kind],
        category=category,
        category_probability=p[category] / p_kind[kind] if p_kind[kind] > 0 else 0.0,
        urgency=urgency,
        urgency_probability=pu[urgency],
        categories=p,
    )


def _log_normalise(scores: dict[str, float]) -> dict[str, float]:
    """Log posteriors normalised to sum to one in probability (log-sum-exp)."""
    top = max(scores.values())
    log_total = top + math.log(sum(math.exp(v - top) for v in scores.values()))
    return {k: v - log_total for k, v in scores.items()}


@lru_cache(maxsize=1)
def shipped_model() -> TriageModel:
    """The model file shipped in the package (``routing/data/triage_model.json.gz``)."""
    blob = resources.files("routing.data").joinpath(SHIPPED_MODEL).read_bytes()
    return TriageModel.loads(blob)
