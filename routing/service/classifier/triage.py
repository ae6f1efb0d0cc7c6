"""First triage (分诊) of a livelihood appeal (民生诉求): rules over keywords, explained.

Given the words of an appeal, decide:
- ``kind``: 民生微实事 micro-project (public or group interest) or 民生微心愿 micro-wish (a person or
  a family);
- ``category`` within that kind (DESIGN §4 taxonomy);
- ``urgency``: ``emergency`` for an individual's sudden hardship (急难事), ``urgent`` for a safety
  hazard (安全隐患), else ``normal``;
- matching policies (政策优先, "policy first") and the ``track``: ``policy`` to a department, else
  莞家速递 ``express`` (town fund, quick), 莞家直达 ``direct`` (donors of the 爱心资源库 claim it) or
  莞家驿站 ``station`` (service stations, social workers, volunteers);
- whether a person must look at it (``needs_manual``: the town's manual triage queue).

Every decision carries a confidence and an :class:`Explanation` naming the rule and the words that
fired it, so a town clerk can see why an appeal landed where it did. Kind, category and urgency are
decided by logistic regressions over the appeal's words and character n-grams that also read the
rules' cue scores (:mod:`routing.service.classifier`), fused with structured facts (a clerk's exact category
code, the channel's beneficiary count); policies and the track by the catalogue's rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from routing.service.classifier import lexicon
from routing.service.classifier.features import featurise
from routing.service.classifier.model import RuleEvidence, TriageModel, shipped_model
from routing.service.classifier.policy_match import Explanation, PolicyMatch, match_policies
from routing.service.policies import SEED_CATALOGUE, Catalogue
from services.common.reference.locate import resolve_location
from services.common.text import normalise_text
from services.contracts.events import AppealReceived
from services.contracts.vocabulary import CATEGORIES_BY_KIND, Category, Kind, Track, Urgency

__all__ = [
    "EXPRESS_CAP_FEN",
    "Category",
    "Explanation",
    "Kind",
    "PolicyMatch",
    "Reading",
    "Track",
    "Triage",
    "Urgency",
    "decide_received",
    "read",
    "triage",
]

EXPRESS_CAP_FEN = 5_000_000
"""莞家速递 pays at most 50,000 yuan (in fen); above it the appeal goes to donors (direct)."""
POLICY_THRESHOLD = 0.6
HINT_WEIGHT = 2.0  # The operator's category counts like one strong cue: it can tip, never override.
HINT_CODE_LOGIT = 8.0  # One of our category codes as the hint: decides unless the text clearly disagrees.
BENEFICIARY_LOGIT = {"micro_project": 2.5, "micro_wish": 1.0}  # five or more / one to three people
_MARGIN_SCALE = 2.5  # A margin of this many cue points gives ~0.88 confidence.
_NO_EVIDENCE = 0.3  # Confidence when nothing at all was recognised.

_EXPRESS_PROJECTS: frozenset[Category] = frozenset({"environment", "housing_repair", "facility"})
# Universal services (普惠服务) and elderly care are delivered by 莞家驿站 stations.
_STATION_CATEGORIES: frozenset[Category] = frozenset(
    {"public_service", "counselling", "hospice", "elderly_care", "rights"}
)


@dataclass(frozen=True)
class Triage:
    """The outcome of :func:`triage`."""

    kind: Kind
    kind_confidence: float
    category: Category
    category_confidence: float
    urgency: Urgency
    urgency_confidence: float
    track: Track
    department: str | None  # department code when track == "policy"
    policies: tuple[PolicyMatch, ...]
    explanations: tuple[Explanation, ...]
    needs_manual: bool  # low confidence -> the town's manual triage queue
    model_version: str
    catalogue_version: str


# --- scoring helpers ---------------------------------------------------------------------------


def _confidence(top: float, runner_up: float) -> float:
    """Confidence from the margin between the best and the second-best score."""
    if top <= 0:
        return _NO_EVIDENCE
    return round(0.5 + 0.5 * math.tanh((top - runner_up) / _MARGIN_SCALE), 3)


def _top_words(hits: Iterable[tuple[str, float]], limit: int = 8) -> tuple[str, ...]:
    ranked = sorted(hits, key=lambda h: -h[1])
    return tuple(dict.fromkeys(w for w, _ in ranked))[:limit]


def _hint_scores(hint: str | None) -> dict[Category, tuple[float, str]]:
    """The operator's category hint -> a bounded score per category (at most HINT_WEIGHT in all)."""
    if not hint or not hint.strip():
        return {}
    text = normalise_text(hint).lower()
    all_categories = {c for cats in CATEGORIES_BY_KIND.values() for c in cats}
    exact = next((c for c in all_categories if c == text), None)
    if exact is not None:
        # One of our own codes, chosen by a clerk or an integration: a fact, not a cue (see read).
        return {exact: (HINT_CODE_LOGIT, text)}
    found: dict[Category, str] = {}
    for word, category in lexicon.HINT_CUES.items():
        if word in text and category not in found:
            found[category] = word
    return {c: (HINT_WEIGHT / len(found), w) for c, w in found.items()}


# --- triage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """An appeal read once: its text, the classifier's features, and everything the rules found."""

    doc: lexicon.Doc
    features: tuple[str, ...]
    category_hits: dict[Category, list[tuple[str, float]]]
    kind_hits: dict[Kind, list[tuple[str, float]]]
    emergency_hits: list[tuple[str, float]]
    urgent_hits: list[tuple[str, float]]
    facts: frozenset[str]
    hint: dict[Category, tuple[float, str]]
    facts_kind: dict[Kind, tuple[float, str]]

    def evidence(self) -> RuleEvidence:
        """The rules' scores, as the model fuses them."""
        code_hint = {c: w for c, (w, word) in self.hint.items() if word == c}
        return RuleEvidence(
            category={
                c: sum(w for _, w in hits) + (0.0 if c in code_hint else self.hint.get(c, (0.0, ""))[0])
                for c, hits in self.category_hits.items()
            },
            kind={k: sum(w for _, w in hits) for k, hits in self.kind_hits.items()},
            emergency=sum(w for _, w in self.emergency_hits),
            urgent=sum(w for _, w in self.urgent_hits),
            direct_category={str(c): w for c, w in code_hint.items()},
            direct_kind={k: w for k, (w, _) in self.facts_kind.items()},
        )


def read(
    title: str | None,
    description: str,
    category_hint: str | None = None,
    beneficiary_count: int | None = None,
) -> Reading:
    """Normalise, tokenise and match every cue table once (pure)."""
    t = lexicon.tables()
    doc = lexicon.read(title, description)
    cat_hits: dict[Category, list[tuple[str, float]]] = {c: doc.hits(cues) for c, cues in t.category.items()}
    facts: set[str] = set()
    for age, wording in lexicon.ages(doc.text):
        if 60 <= age <= 120:
            cat_hits["elderly_care"].append((wording, 2.0))
        if 80 <= age <= 120:
            facts.add("年满80周岁")  # 高龄津贴 eligibility
    kind_hits: dict[Kind, list[tuple[str, float]]] = {k: doc.hits(cues) for k, cues in t.kind.items()}
    kind_hits["micro_project"] += [(words, 2.0) for words in lexicon.group_mentions(doc.text)]
    kind_hits["micro_wish"] += [(words, 1.5) for words in lexicon.person_mentions(doc.text)]
    facts_kind: dict[Kind, tuple[float, str]] = {}
    if beneficiary_count is not None:
        if beneficiary_count >= 5:
            facts_kind["micro_project"] = (
                BENEFICIARY_LOGIT["micro_project"],
                f"beneficiary_count={beneficiary_count}",
            )
        elif 1 <= beneficiary_count <= 3:
            facts_kind["micro_wish"] = (
                BENEFICIARY_LOGIT["micro_wish"],
                f"beneficiary_count={beneficiary_count}",
            )
    hint = _hint_scores(category_hint)
    emergency_hits, urgent_hits = doc.hits(t.emergency), doc.hits(t.urgent)
    rules = _rule_terms(doc.text, cat_hits, emergency_hits, urgent_hits, hint)
    return Reading(
        doc=doc,
        features=tuple(sorted({*featurise(doc), *rules})),
        category_hits=cat_hits,
        kind_hits=kind_hits,
        emergency_hits=emergency_hits,
        urgent_hits=urgent_hits,
        facts=frozenset(facts),
        hint=hint,
        facts_kind=facts_kind,
    )


RULE_TERMS: frozenset[str] = frozenset({"hint", "group", "cue", "urgency"})
"""Which of the rules' findings the model reads as terms, chosen by cross-validation: the
operator's hint and counted groups or named persons help; the cue tables' category and urgency
scores, tuned on the first training files, made the model worse on appeals written later."""


def _rule_terms(
    text: str,
    category_hits: dict[Category, list[tuple[str, float]]],
    emergency_hits: list[tuple[str, float]],
    urgent_hits: list[tuple[str, float]],
    hint: dict[Category, tuple[float, str]],
) -> set[str]:
    """The rules' findings as terms the model weighs like words (``r:`` prefix)."""
    out: set[str] = set()
    if "hint" in RULE_TERMS:
        out |= {f"r:hint.{c}" for c in hint}
    if "group" in RULE_TERMS:
        if lexicon.group_mentions(text):
            out.add("r:group")
        if lexicon.person_mentions(text):
            out.add("r:person")
        if any(60 <= age <= 120 for age, _ in lexicon.ages(text)):
            out.add("r:aged")
    if "cue" in RULE_TERMS:
        out |= {f"r:cue.{c}" for c, hits in category_hits.items() if sum(w for _, w in hits) >= 1.5}
    if "urgency" in RULE_TERMS:
        if sum(w for _, w in emergency_hits) >= 2.0:
            out.add("r:emergency")
        if sum(w for _, w in urgent_hits) >= 2.5:
            out.add("r:urgent")
    return out


def triage(
    title: str | None,
    description: str,
    category_hint: str | None = None,
    beneficiary_count: int | None = None,
    estimated_amount_fen: int | None = None,
    *,
    model: TriageModel | None = None,
    catalogue: Catalogue = SEED_CATALOGUE,
) -> Triage:
    """Classify an appeal, match it to policies and pick its track; pure, deterministic, explained.

    ``category_hint`` is what the 12345 hotline operator (or a clerk) chose: free text such as
    "城市管理/路灯" or one of our category codes. It weighs like one strong cue, so the appeal's own
    words can overrule it. ``estimated_amount_fen`` above :data:`EXPRESS_CAP_FEN` sends an appeal no
    policy covers to donors (``direct``). ``model`` defaults to the shipped one, ``catalogue`` to
    the shipped policies; the service passes the current ones.
    """
    reading = read(title, description, category_hint, beneficiary_count)
    used = model if model is not None else shipped_model()
    prediction = used.predict(reading.features, reading.evidence())
    doc = reading.doc
    explanations: list[Explanation] = []
    if doc.rewrites:
        explanations.append(Explanation("normalise.rewrite", doc.rewrites))
    if reading.hint:
        explanations.append(Explanation("hint", tuple(w for _, w in reading.hint.values())))

    kind, category = prediction.kind, prediction.category
    kind_confidence = round(prediction.kind_probability, 3)
    category_confidence = round(prediction.category_probability, 3)
    kind_words = list(reading.kind_hits[kind])
    kind_words += [(word, w) for k, (w, word) in reading.facts_kind.items() if k == kind]
    kind_words += [h for c in CATEGORIES_BY_KIND[kind] for h in reading.category_hits[c]]
    explanations.append(
        Explanation(f"kind.{kind}", _merge(_top_words(kind_words), prediction.model_words["kind"]))
    )
    explanations.append(
        Explanation(
            f"category.{category}",
            _merge(_top_words(reading.category_hits[category]), prediction.model_words["category"]),
        )
    )
    explanations.append(
        Explanation(
            "model",
            (
                f"model={used.version}",
                f"kind_confidence={kind_confidence}",
                f"category_confidence={category_confidence}",
            ),
        )
    )

    urgency = cast(Urgency, prediction.urgency)
    urgency_confidence = round(prediction.urgency_probability, 3)
    if urgency == "emergency":
        words = _merge(_top_words(reading.emergency_hits), prediction.model_words["urgency"])
    elif urgency == "urgent":
        words = _merge(_top_words(reading.urgent_hits), prediction.model_words["urgency"])
    else:
        words = ()
    explanations.append(Explanation(f"urgency.{urgency}", words))

    policies = tuple(match_policies(doc, reading.facts, kind, category, catalogue))
    track, department, reason = _choose_track(
        doc, kind, category, urgency, policies, estimated_amount_fen, lexicon.tables().large_help
    )
    if policies and track == "policy":
        explanations.append(policies[0].explanation)
    explanations.append(Explanation(f"track.{track}", reason))

    # On the confidences as shown, so that what staff read and what was decided agree.
    needs_manual = kind_confidence < used.thresholds.kind or category_confidence < used.thresholds.category
    if needs_manual:
        explanations.append(
            Explanation(
                "needs_manual",
                (f"kind_confidence={kind_confidence}", f"category_confidence={category_confidence}"),
            )
        )
    return Triage(
        kind=kind,
        kind_confidence=kind_confidence,
        category=category,
        category_confidence=category_confidence,
        urgency=urgency,
        urgency_confidence=urgency_confidence,
        track=track,
        department=department,
        policies=policies,
        explanations=tuple(explanations),
        needs_manual=needs_manual,
        model_version=used.version,
        catalogue_version=catalogue.version,
    )


def _merge(rule_words: tuple[str, ...], model_words: tuple[str, ...], limit: int = 8) -> tuple[str, ...]:
    """The rules' words first, then the classifier's that add something new."""
    merged = list(rule_words)
    for word in model_words:
        if not any(word in w or w in word for w in merged):
            merged.append(word)
    return tuple(merged[:limit])


def _choose_track(
    doc: lexicon.Doc,
    kind: Kind,
    category: Category,
    urgency: Urgency,
    policies: tuple[PolicyMatch, ...],
    estimated_amount_fen: int | None,
    large_help: tuple[lexicon.Cue, ...],
) -> tuple[Track, str | None, tuple[str, ...]]:
    """Policy first; then donors for large sums; then the town fund or a station."""
    if policies and policies[0].confidence >= POLICY_THRESHOLD:
        return "policy", policies[0].department, (policies[0].policy_code,)
    if estimated_amount_fen is not None and estimated_amount_fen > EXPRESS_CAP_FEN:
        return "direct", None, (f"estimated_amount_fen={estimated_amount_fen}",)
    amount = lexicon.largest_amount_yuan(doc.text)
    if amount is not None and amount[0] * 100 > EXPRESS_CAP_FEN:
        return "direct", None, (amount[1],)
    if large := doc.hits(large_help):
        return "direct", None, _top_words(large)
    if kind == "micro_project" and category in _EXPRESS_PROJECTS:
        return "express", None, (category,)
    if kind == "micro_wish" and urgency == "emergency":
        return "express", None, (urgency,)
    if category in _STATION_CATEGORIES:
        return "station", None, (category,)
    # A non-urgent material wish (a school bag, a month's rent) that no policy covers is what
    # donors of the 爱心资源库 claim (认领): 莞家直达.
    return "direct", None, (category,)


# Where a walk-in's words name no place, the station's community is where it is most likely
# from, but not as sure as a place the words or the channel gave.
STATION_PLACE_CONFIDENCE = 0.8


@dataclass(frozen=True)
class ReceivedTriage:
    """What the routing worker decides for a received appeal: the triage, the place, the queue."""

    triage: Triage
    urgency: Urgency  # the triage's, or the channel's emergency flag
    town_code: str | None
    village_code: str | None
    location_method: str
    location_confidence: float
    location_evidence: str | None
    needs_manual: bool  # unsure, or no known town: the manual triage queue

    @property
    def unsure(self) -> bool:
        """The model's kind or category confidence is below the thresholds: a person classifies.
        (An appeal classified surely but placed nowhere waits only to be placed.)"""
        return self.triage.needs_manual


def decide_received(
    data: AppealReceived,
    *,
    model: TriageModel | None = None,
    catalogue: Catalogue = SEED_CATALOGUE,
    station_place: tuple[str, str | None] | None = None,
) -> ReceivedTriage:
    """The whole decision on an ``appeal.received`` event (pure): rules, model, place, policies.

    The routing worker stores and announces it (``routing.service.triage``); the judgement bench
    (``bench.judgement_triage``) scores it. The place the channel settled wins; else it is read
    from the address, the words, the coordinates or the grid code; else, for a walk-in, it is
    the (town, village) of the 莞家驿站 where it was filed (`station_place`): the station serves
    its own community, and its worker files for the people who walk in.
    """
    result = triage(
        data.title,
        data.description,
        category_hint=data.category_hint,
        beneficiary_count=data.beneficiary_count,
        estimated_amount_fen=data.estimated_amount_fen,
        model=model,
        catalogue=catalogue,
    )
    town_code: str | None
    village_code: str | None
    if data.town_code:
        town_code, village_code, method = data.town_code, data.village_code, "channel"
        confidence, evidence = 1.0, "channel"
    else:
        text = " ".join(p for p in (data.title, data.description) if p)
        loc = resolve_location(
            data.address, text=text, lat=data.lat, lng=data.lng, grid_code=data.grid_code, datum=data.datum
        )
        town_code, village_code, method = loc.town_code, loc.village_code, loc.method
        confidence, evidence = loc.confidence, loc.evidence
        if town_code is None and station_place is not None:
            (town_code, village_code), method = station_place, "station"
            confidence, evidence = STATION_PLACE_CONFIDENCE, f"station:{data.station_code}"
    urgency: Urgency = "emergency" if data.urgency_hint == "emergency" else result.urgency
    return ReceivedTriage(
        triage=result,
        urgency=urgency,
        town_code=town_code,
        village_code=village_code,
        location_method=method,
        location_confidence=confidence,
        location_evidence=evidence,
        needs_manual=result.needs_manual or town_code is None,
    )
