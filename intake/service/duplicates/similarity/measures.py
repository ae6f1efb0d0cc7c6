"""Scoring measures (pure): how alike two appeals' words, texts and places are.

Set overlaps (Jaccard, Dice, IDF-weighted), the distance between two points, and the text and
place likeness the scorer's features are built from, each with its reasons in Chinese for staff.
"""

from __future__ import annotations

from functools import lru_cache

from intake.service.duplicates.lexicon import GENERIC_PLACES
from intake.service.duplicates.similarity.doc import Doc
from intake.service.duplicates.similarity.places import place_kind
from services.common.reference.locate import haversine_metres


@lru_cache(maxsize=1)
def idf_table() -> tuple[dict[str, float], float]:
    """jieba's IDF table, and its median (for words it does not know)."""
    # jieba's own inverse document frequencies (a large general corpus): a shared rare word (烧鹅店,
    # 植皮, 承重柱) says much more than a shared common one (反映, 晚上).
    from pathlib import Path

    import jieba

    table: dict[str, float] = {}
    path = Path(jieba.__file__).with_name("analyse") / "idf.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    median = sorted(table.values())[len(table) // 2] if table else 10.0
    return table, median


def idf(word: str) -> float:
    """How rare a word is in general Chinese text (jieba's IDF; unknown words count as median)."""
    table, median = idf_table()
    return table.get(word, median)


def idf_overlap(a: frozenset[str], b: frozenset[str]) -> tuple[float, float]:
    """(IDF-weighted Jaccard, IDF-weighted share of the smaller set) of two word sets."""
    if not a or not b:
        return 0.0, 0.0
    shared = sum(idf(w) for w in a & b)
    total_a, total_b = _idf_total(a), _idf_total(b)
    union = total_a + total_b - shared
    return (shared / union if union else 0.0), shared / min(total_a, total_b)


@lru_cache(maxsize=8192)
def _idf_total(words: frozenset[str]) -> float:
    # One side of every pair a lookup scores is the arrival, and candidates recur from arrival to
    # arrival; a frozenset keeps its hash, so finding the total again costs no pass over the words.
    return sum(idf(w) for w in words)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|A ∩ B| / |A ∪ B|, 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    """2|A ∩ B| / (|A| + |B|)."""
    total = len(a) + len(b)
    return 2 * len(a & b) / total if total else 0.0


def distance_m(a: Doc, b: Doc) -> float | None:
    """Metres between the two appeals' points, when both have one."""
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return None
    return haversine_metres(a.lat, a.lng, b.lat, b.lng)


def location_score(a: Doc, b: Doc) -> tuple[float, list[str]]:
    """How likely the two are about the same spot, in [0, 1], and why.

    Coordinates decide when both have them; otherwise the village, then the town. A road or
    estate named in both raises it; two different ones lower it.
    """
    reasons: list[str] = []
    dist = distance_m(a, b)
    specific_a, specific_b = a.places - GENERIC_PLACES, b.places - GENERIC_PLACES
    shared = specific_a & specific_b
    # 大宁市场 and 市场 may be one place; 市场 and 小学 are not.
    compatible = any(
        p == q or ((p in GENERIC_PLACES or q in GENERIC_PLACES) and place_kind(p) == place_kind(q))
        for p in a.places
        for q in b.places
    )
    same_village = a.village_code is not None and a.village_code == b.village_code
    other_village = a.village_code is not None and b.village_code is not None and not same_village
    same_town = a.town_code is not None and a.town_code == b.town_code
    if dist is not None:
        reasons.append(f"相距约{round(dist)}米")
    if shared:
        reasons.append("同一地点：" + "、".join(sorted(shared)[:3]))
    if same_village:
        reasons.append("同一村（社区）")
    elif same_town:
        reasons.append("同一镇街")
    if dist is not None:
        score = (
            1.0
            if dist <= 250
            else 0.85
            if dist <= 600
            else 0.55
            if dist <= 1000
            else 0.45
            if dist <= 1500
            else 0.3
        )
    elif same_village:
        score = 0.85
    elif other_village:
        score = 0.35
    elif same_town:
        score = 0.55
    else:
        score = 0.3
    if shared and (dist is None or dist <= 1000):
        score = max(score, 0.8 if other_village else 1.0)
    elif specific_a and specific_b:
        score = min(score, 0.55)  # both name a road or estate, and not the same one
    elif a.places and b.places and not compatible:
        score = min(score, 0.65)  # a market here, a school there
    return score, reasons


def same_persons(a: frozenset[str], b: frozenset[str]) -> list[str]:
    """People named in both: the same surname and title, or the same surname where one says 某."""
    out = []
    for p in sorted(a):
        for q in sorted(b):
            if p[0] == q[0] and (p[1:] == q[1:] or "某" in (p[1:], q[1:])):
                out.append(p)
                break
    return out


def text_score(a: Doc, b: Doc) -> tuple[float, list[str]]:
    """How alike the two texts are, in [0, 1], and why."""
    reasons: list[str] = []
    words = jaccard(a.words, b.words)
    chars = dice(a.bigrams, b.bigrams)
    cond = jaccard(a.conditions, b.conditions) if a.conditions and b.conditions else None
    if a.objects and b.objects:
        # Half Jaccard, half overlap: one appeal naming a second object is not another problem.
        overlap = len(a.objects & b.objects) / min(len(a.objects), len(b.objects))
        obj = (jaccard(a.objects, b.objects) + overlap) / 2
        score = 0.45 * obj + 0.15 * (0.5 if cond is None else cond) + 0.2 * chars + 0.2 * words
        shared = a.objects & b.objects
        if shared:
            reasons.append("同一问题：" + "、".join(sorted(shared)))
        else:
            score *= 0.35
            reasons.append("问题不同：" + "、".join(sorted(a.objects)) + " / " + "、".join(sorted(b.objects)))
    else:
        score = 0.5 * chars + 0.3 * words + 0.2 * (cond or 0.0)
    if a.conditions & b.conditions:
        reasons.append("同一情形：" + "、".join(sorted(a.conditions & b.conditions)))
    if a.persons and b.persons:
        same = same_persons(a.persons, b.persons)
        if same:
            score = min(1.0, score + 0.15)
            reasons.append("同一当事人：" + "、".join(same))
        else:
            score *= 0.3
            reasons.append("当事人不同")
    reasons.append(f"文字相似度{chars:.2f}")
    return min(1.0, score), reasons
