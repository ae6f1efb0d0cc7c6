"""Policy first (政策优先): which catalogue policies may cover an appeal, each with how sure we are
and the words that said so (an :class:`Explanation`, as every triage decision carries)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from routing.service.classifier import lexicon
from routing.service.policies import Catalogue
from services.contracts.vocabulary import Category, Kind


@dataclass(frozen=True)
class Explanation:
    """Why a decision was taken: the rule's name and the words that fired it."""

    rule: str
    matched: tuple[str, ...]


@dataclass(frozen=True)
class PolicyMatch:
    """A catalogue policy that may cover the appeal, with how sure we are."""

    policy_code: str
    department: str
    confidence: float
    explanation: Explanation


@lru_cache(maxsize=8)
def _keyword_df(catalogue: Catalogue) -> dict[str, int]:
    """In how many policies each keyword appears: a keyword many policies share weighs less."""
    df: dict[str, int] = {}
    for policy in catalogue.policies:
        for word in set(policy.keywords):
            df[word] = df.get(word, 0) + 1
    return df


def _alias_spans(text: str, catalogue: Catalogue) -> dict[str, list[tuple[int, int]]]:
    """Where each policy's aliases occur, dropping those inside a longer alias (低保 in 低保边缘)."""
    spans: list[tuple[int, int, str]] = []
    for policy in catalogue.policies:
        for alias in policy.aliases:
            a = alias.lower()
            spans += [(m.start(), m.start() + len(a), policy.code) for m in re.finditer(re.escape(a), text)]
    kept: dict[str, list[tuple[int, int]]] = {}
    for s, e, code in spans:
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in spans):
            kept.setdefault(code, []).append((s, e))
    return kept


def _alias_strength(text: str, spans: list[tuple[int, int]]) -> tuple[float, str]:
    """Asked for (申请低保) 0.9 > mentioned 0.7 > a status the person already has (低保户) 0.45."""
    best = (0.0, "")
    for s, e in spans:
        before, after = text[max(0, s - 8) : s], text[e : e + 3]
        if any(v in before for v in lexicon.ASK_VERBS):
            strength = (0.9, "ask")
        elif after.startswith(lexicon.STATUS_SUFFIXES) or before.endswith(("是", "属于")):
            strength = (0.45, "status")
        else:
            strength = (0.7, "mention")
        best = max(best, strength)
    return best


def match_policies(
    doc: lexicon.Doc, facts: frozenset[str], kind: Kind, category: Category, catalogue: Catalogue
) -> list[PolicyMatch]:
    """The catalogue policies (政策) that may cover the appeal, best first (at most five): its
    aliases asked for, mentioned or held as a status, and its keywords, weighed by agreement
    with the appeal's kind and category."""
    df = _keyword_df(catalogue)
    alias_spans = _alias_spans(doc.text, catalogue)
    matches: list[PolicyMatch] = []
    for policy in catalogue.policies:
        words: list[str] = []
        base, how = _alias_strength(doc.text, alias_spans.get(policy.code, []))
        if base:
            s, e = alias_spans[policy.code][0]
            words.append(doc.text[s:e])
        miss = 1.0 - base
        for kw in policy.keywords:
            if kw in facts or doc.has(kw):
                words.append(kw)
                miss *= 1.0 - (0.45 if df[kw] == 1 else 0.3)
        if not words:
            continue
        confidence = 1.0 - miss
        # Agreement with the appeal's own category is evidence too; a policy made for the other
        # kind, or another category, fits less well.
        if policy.kind != kind:
            confidence *= 0.5
        elif policy.category != category:
            confidence *= 0.85
        else:
            confidence += (1.0 - confidence) * 0.2
        confidence = round(min(confidence, 0.97), 3)
        if confidence >= 0.3:
            rule = f"policy.{policy.code}" + (f".{how}" if how else "")
            matches.append(
                PolicyMatch(policy.code, policy.department, confidence, Explanation(rule, tuple(words)))
            )
    matches.sort(key=lambda m: -m.confidence)
    return matches[:5]
