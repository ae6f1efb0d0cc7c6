"""The triage model: logistic regressions over words and character n-grams, fused with the rules.

Each appeal becomes one row: the TF-IDF of its terms (jieba words, character bigrams and
single characters; ``routing.service.classifier.features``) and of the rules' findings written as terms (the
operator's hint, counted groups and named persons, ages, the cue tables' categories and urgency;
``routing.service.classifier.triage.RULE_TERMS``), so the rules count exactly as much as they help. Three logistic
regressions read that row:

- **category** (13 classes) and **kind** (who benefits: a household or a community). They are
  fused so that kind and category never disagree:
  ``P(c) = softmax((log P_cat(c|x) + β·log P_kind(kind(c)|x)) / T + facts(c))``; the
  kind's probability is the sum over its categories. ``facts`` are structured inputs that count as
  they are (a clerk's exact category code, the channel's beneficiary count). ``β`` and the
  temperature ``T`` are chosen on out-of-fold predictions (the least log-loss), so a confidence of
  0.9 is right about nine times in ten: the manual-queue thresholds are real confidences.
- **urgency** (normal / urgent / emergency), weighted towards the rare classes; an appeal is an
  emergency when ``P(emergency)`` reaches a threshold chosen on out-of-fold predictions for
  emergency recall, else urgent by the same rule, else normal. An emergency (急难) is an
  individual's: a project's is a hazard (urgent).

Trained with scikit-learn (``routing.service.classifier.training``); inference needs only numpy
(``routing.service.classifier.linear``). The model is gzipped JSON with numeric arrays: nothing is
unpickled, from the package or the database.
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

from routing.service.classifier.linear import FloatArray, LinearHead, Vectoriser
from services.contracts.vocabulary import CATEGORIES_BY_KIND, Category, Kind
from services.contracts.vocabulary import KINDS as KINDS  # the heads' order is the vocabulary's
from services.contracts.vocabulary import URGENCIES as URGENCIES

MODEL_FORMAT = 2
SHIPPED_MODEL = "triage_model.json.gz"
KIND_OF: dict[str, Kind] = {c: k for k, cats in CATEGORIES_BY_KIND.items() for c in cats}
ALL_CATEGORIES: tuple[Category, ...] = tuple(c for cats in CATEGORIES_BY_KIND.values() for c in cats)


@dataclass(frozen=True)
class Fusion:
    """How the heads combine, and where urgency is raised (chosen on out-of-fold predictions)."""

    kind_weight: float = 1.0  # β
    temperature: float = 1.0  # T
    emergency: float = 0.5  # P(emergency) at or above this -> emergency
    urgent: float = 0.5  # P(urgent) at or above this -> urgent (when not an emergency)


@dataclass(frozen=True)
class Thresholds:
    """Below these confidences a person triages the appeal (the town's manual queue)."""

    kind: float = 0.75
    category: float = 0.55


@dataclass(frozen=True)
class RuleEvidence:
    """What the rules found, before any decision (the model reads them as terms; see triage.read)."""

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
    """Fused probabilities, and the model's words for each decision."""

    kind: Kind
    kind_probability: float
    category: Category
    category_probability: float  # P(category | kind)
    urgency: str
    urgency_probability: float
    categories: dict[str, float]
    model_words: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class HeadScores:
    """The three heads' log probabilities for one appeal (before fusion)."""

    category: dict[str, float]
    kind: dict[str, float]
    urgency: dict[str, float]


def fuse(heads: HeadScores, rules: RuleEvidence, fusion: Fusion) -> Prediction:
    """The decision from the heads' log probabilities (pure arithmetic: tuning calls it a lot)."""
    # Calibrated first, then the facts: their logits mean the same whatever the temperature.
    z: dict[str, float] = {
        c: (heads.category[c] + fusion.kind_weight * heads.kind[KIND_OF[c]]) / fusion.temperature
        + rules.direct_category.get(c, 0.0)
        + rules.direct_kind.get(KIND_OF[c], 0.0)
        for c in ALL_CATEGORIES
    }
    p = softmax(z)
    p_kind = {k: sum(p[c] for c in cats) for k, cats in CATEGORIES_BY_KIND.items()}
    kind: Kind = max(p_kind, key=lambda k: (p_kind[k], k == "micro_wish"))
    category: Category = max(CATEGORIES_BY_KIND[kind], key=lambda c: p[c])
    pu = {u: math.exp(v) for u, v in heads.urgency.items()}
    if pu["emergency"] >= fusion.emergency:
        # An emergency (急难) is an individual's; a community's is a hazard.
        urgency = "emergency" if kind == "micro_wish" else "urgent"
    elif pu["urgent"] >= fusion.urgent:
        urgency = "urgent"
    else:
        urgency = "normal"
    return Prediction(
        kind=kind,
        kind_probability=p_kind[kind],
        category=category,
        category_probability=p[category] / p_kind[kind] if p_kind[kind] > 0 else 0.0,
        urgency=urgency,
        urgency_probability=max(pu[urgency], pu["emergency"]) if urgency == "urgent" else pu[urgency],
        categories=p,
    )


@dataclass(frozen=True)
class TriageModel:
    """Everything triage learns from labelled appeals; saved as one gzipped JSON file."""

    version: str
    vectoriser: Vectoriser
    category_head: LinearHead
    kind_head: LinearHead
    urgency_head: LinearHead
    fusion: Fusion = Fusion()
    thresholds: Thresholds = Thresholds()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    # --- prediction ---------------------------------------------------------------------------

    def heads(self, terms: tuple[str, ...]) -> HeadScores:
        """The three heads' calibrated log probabilities."""
        columns, values = self.vectoriser.transform(terms)
        return HeadScores(
            category=self.category_head.log_proba(columns, values),
            kind=self.kind_head.log_proba(columns, values),
            urgency=self.urgency_head.log_proba(columns, values),
        )

    def predict(self, terms: tuple[str, ...], rules: RuleEvidence) -> Prediction:
        """Fuse the heads (and the structured facts) into one decision with probabilities."""
        fused = fuse(self.heads(terms), rules, self.fusion)
        runner_up = max((c for c in ALL_CATEGORIES if c != fused.category), key=lambda c: fused.categories[c])
        other_kind: Kind = "micro_project" if fused.kind == "micro_wish" else "micro_wish"
        against = "normal" if fused.urgency != "normal" else "urgent"
        columns, values = self.vectoriser.transform(terms)
        words = {
            "category": self._words(self.category_head, columns, values, fused.category, runner_up),
            "kind": self._words(self.kind_head, columns, values, fused.kind, other_kind),
            "urgency": self._words(self.urgency_head, columns, values, fused.urgency, against),
        }
        return Prediction(**{**vars(fused), "model_words": words})

    def _words(
        self, head: LinearHead, columns: list[int], values: FloatArray, chosen: str, against: str
    ) -> tuple[str, ...]:
        if not columns:
            return ()
        weights = head.contributions(columns, values, chosen, against)
        ranked = sorted(zip(weights.tolist(), columns, strict=True), key=lambda wc: (-wc[0], wc[1]))
        picked: list[str] = []
        for weight, column in ranked[:16]:
            if weight <= 0:
                break
            prefix, word = self.vectoriser.vocabulary[column].split(":", 1)
            if prefix in ("r", "u"):
                continue  # a rule's finding (the rules name its words), or a lone character
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
            "fusion": vars(self.fusion),
            "thresholds": vars(self.thresholds),
            "meta": self.meta,
            "vectoriser": self.vectoriser.to_json(),
            "category_head": self.category_head.to_json(),
            "kind_head": self.kind_head.to_json(),
            "urgency_head": self.urgency_head.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TriageModel:
        """Inverse of :meth:`to_json`; refuses a format it does not know."""
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"unknown triage model format {data.get('format')!r}")
        return cls(
            version=str(data["version"]),
            vectoriser=Vectoriser.from_json(data["vectoriser"]),
            category_head=LinearHead.from_json(data["category_head"]),
            kind_head=LinearHead.from_json(data["kind_head"]),
            urgency_head=LinearHead.from_json(data["urgency_head"]),
            fusion=Fusion(**data["fusion"]),
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


def softmax(scores: dict[str, float]) -> dict[str, float]:
    """Probabilities from log scores, numerically stable."""
    if not scores:
        return {}
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


@lru_cache(maxsize=1)
def shipped_model() -> TriageModel:
    """The model file shipped in the package (``routing/data/triage_model.json.gz``)."""
    blob = resources.files("routing.data").joinpath(SHIPPED_MODEL).read_bytes()
    return TriageModel.loads(blob)
