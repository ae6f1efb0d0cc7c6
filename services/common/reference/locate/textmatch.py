"""Reading a text: which town and village its name hits point to, and how sure that is.

Given the hits of the text index, this weighs full town names (虎门镇) above short ones (虎门),
longer names above shorter ones, lets a village name place an appeal on its own only when one
village bears it and it is no everyday word, and with a known town looks only for that town's
villages. Pure functions; the caller turns the result into a ``LocationMatch``.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.reference.locate.index import _find_hits, _Hit, _Index, _prepare

# Two-character village names that are everyday words or names found all over China: on their
# own they do not place an appeal (with the town named, they still pick the village).
_COMMON_WORDS = frozenset(
    [
        "太平",
        "东方",
        "解放",
        "光明",
        "创业",
        "新安",
        "新民",
        "白沙",
        "西湖",
        "田头",
        "水边",
        "江边",
        "东山",
        "新市",
        "平山",
        "田心",
        "宝山",
        "长龙",
        "北岸",
        "新和",
        "新联",
        "路东",
        "镇口",
        "南面",
        "石鼓",
        "上合",
        "大洲",
        "大龙",
        "三新",
        "新基",
        "大坪",
        "中坑",
        "上角",
        "上沙",
        "沙头",
        "涌头",
        "兴龙",
        "大步",
        "金洲",
        "村头",
        "小河",
        "民田",
        "长安",
        "白马",
        "西平",
        "市桥",
        "河田",
        "龙眼",
        "司马",
        "江城",
        "双岗",
        "新围",
        "大盛",
    ]
)


# Words that make the name before them a place in speech ("我在太平那边"): an everyday word is
# not followed by them.
_LOCATIVES = ("那边", "这边", "那里", "这里", "附近", "一带", "那一带")


@dataclass(frozen=True, slots=True)
class _TextMatch:
    town_code: str
    village_code: str | None
    confidence: float
    evidence: str


def _best(hits: list[_Hit]) -> _Hit:
    return min(hits, key=lambda h: (-h.length, h.start))


def _match_text(raw: str, index: _Index, context_town: str | None = None) -> _TextMatch | None:
    """Match town and village names in ``raw``; with ``context_town`` only look for its villages."""
    text = _prepare(raw, index)
    hits = _find_hits(text, index)
    if not hits:
        return None

    strong: dict[str, list[_Hit]] = {}
    weak: dict[str, list[_Hit]] = {}
    village_hits: list[_Hit] = []
    for hit in hits:
        if hit.term.kind == "town_full":
            strong.setdefault(hit.term.codes[0], []).append(hit)
        elif hit.term.kind == "town_short":
            weak.setdefault(hit.term.codes[0], []).append(hit)
        elif hit.term.kind == "village":
            village_hits.append(hit)

    def towns_of(hit: _Hit) -> set[str]:
        return {index.village_town[c] for c in hit.term.codes}

    def is_unique(hit: _Hit) -> bool:
        # On its own, a name identifies a village only if exactly one village bears it and it
        # is more than a two-character word, or a two-character name that is no everyday word
        # (蛤地, 樟村, 雁田 are only places; 太平, 光明, 白沙 are words too), and no other town
        # has a place of that name.
        if len(hit.term.codes) != 1 or hit.term.text in index.contested:
            return False
        return hit.length >= 3 or hit.term.text not in _COMMON_WORDS or text.startswith(_LOCATIVES, hit.end)

    named = set(strong) | set(weak)
    if context_town is not None:
        named.add(context_town)

    def support(town: str) -> list[_Hit]:
        return [h for h in village_hits if town in towns_of(h) and (town in named or is_unique(h))]

    if context_town is not None:
        candidates = {context_town}
    else:
        candidates = set(named)
        candidates |= {next(iter(towns_of(h))) for h in village_hits if is_unique(h)}
    if not candidates:
        return None

    def rank(town: str) -> tuple[bool, bool, bool, int, int]:
        own = strong.get(town, []) + weak.get(town, []) + support(town)
        longest = max((h.length for h in own), default=0)
        first = min((h.start for h in own), default=len(raw))
        return (town in strong, bool(support(town)), town in named, longest, -first)

    town = max(candidates, key=rank)

    # Only a hit naming exactly one village of this town can pick the village.
    village_choices = [
        h for h in support(town) if sum(1 for c in h.term.codes if index.village_town[c] == town) == 1
    ]
    village_hit = _best(village_choices) if village_choices else None
    village_code = (
        next(c for c in village_hit.term.codes if index.village_town[c] == town) if village_hit else None
    )

    if context_town is not None and village_hit is None:
        return None

    town_hit = _best(strong[town]) if town in strong else _best(weak[town]) if town in weak else None
    if village_hit is not None:
        confidence = 0.95 if town in strong else 0.9 if town in weak else 0.85
        if village_hit.length <= 2:
            confidence -= 0.05
    else:
        confidence = 0.9 if town in strong else 0.6
    if any(other != town for other in strong):
        confidence *= 0.8  # the text also names another town explicitly

    evidence_hits = sorted((h for h in (town_hit, village_hit) if h is not None), key=lambda h: h.start)
    return _TextMatch(
        town_code=town,
        village_code=village_code,
        confidence=round(confidence, 3),
        evidence=" ".join(h.term.text for h in evidence_hits),
    )
