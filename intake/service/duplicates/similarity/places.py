"""Place tokens: which words name a place, and the places an address names.

Place words come out of an appeal's text and are compared as place (`measures.location_score`),
so that "the same place, another problem" does not look alike just because both name the place.
"""

from __future__ import annotations

import re
from functools import lru_cache

from intake.service.duplicates.lexicon import NOT_PLACES, PLACE_SUFFIXES, PLACE_WORDS, STOPWORDS
from intake.service.duplicates.lexicon import (
    PLACE_SUFFIXES as _SUFFIXES,
)
from intake.service.duplicates.similarity.text import KEEP_RE, place_names, segment
from services.common.reference import load_reference
from services.common.text import normalise_text

# Words that end like a road but point at one or act on one: 那条路 / 呢条街 / (后面)条巷 (a measure
# word: "the lane"), 这段路 / 整段路 / 一段路, 挡路 / 走路 / 绕路 (a verb and its object). Read as
# places, two writers' wordings of one spot look like two different roads.
_NOT_A_NAME_RE = re.compile(r"^(?:[那这哪嗰呢整一]|[挡走过绕拦堵封修上出行开]路$)|条(?:路|街|巷)$|段路$")


def is_place(token: str) -> bool:
    """Whether a token names a place (a known place name, or a name ending like 路, 村, 市场…)."""
    if token in place_names():
        return True
    return (
        token not in NOT_PLACES
        and len(token) >= 2
        and token.endswith(PLACE_SUFFIXES)
        and not (token.endswith(("路", "街", "巷")) and _NOT_A_NAME_RE.search(token))
    )


_SUFFIX_TOKENS = frozenset(
    {"路", "街", "巷", "大道", "大街", "河", "桥", "市场", "公园", "广场", "小学", "一路", "二路", "三路"}
    # A section of a road (连升 + 中路 -> 连升中路), not a road called 中路.
    | {"东路", "西路", "南路", "北路", "中路"}
)


def _base(name: str) -> str:
    # 大宁社区 -> 大宁, 桥梓村 -> 桥梓; 社区 alone -> "" (so 社区 + 公园 is just 公园).
    for suffix in ("社区", "村", "镇", "街道"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return "" if name in PLACE_WORDS else name


_SUFFIXES_LONGEST_FIRST = tuple(sorted(_SUFFIXES, key=len, reverse=True))


@lru_cache(maxsize=8192)
def place_kind(place: str) -> str:
    """The kind of place a name ends with (路, 市场, 公园…), or the name itself."""
    return next((s for s in _SUFFIXES_LONGEST_FIRST if place.endswith(s)), place)


def merge_places(tokens: list[str]) -> list[str]:
    """Segmented tokens with a name and its place suffix joined into one place token."""
    # 桑园 + 路 -> 桑园路 (a road named after its village is a road, not the village), and
    # 步步高 + 大道 -> 步步高大道.
    out: list[str] = []
    for token in tokens:
        prev = out[-1] if out else ""
        if (
            token in _SUFFIX_TOKENS
            and len(prev) >= 2
            and KEEP_RE.fullmatch(prev)
            and prev not in STOPWORDS
            and not is_place(prev)
        ) or (token in _SUFFIX_TOKENS and prev in place_names()):
            out[-1] = _base(prev) + token
        else:
            out.append(token)
    return out


def fine_places(address: str | None) -> set[str]:
    """The roads, estates and other places an address names, beyond town and village."""
    if not address:
        return set()
    text = normalise_text(address)
    out = set()
    for token in merge_places([t.strip() for t in segment(text)]):
        if len(token) >= 2 and is_place(token) and token not in place_names() and not token[0].isdigit():
            out.add(token)
    return out


def village_named(text: str, town_code: str | None) -> str | None:
    """The code of the one village of the town that the text names, if exactly one is."""
    # An appeal that names its village in the text but arrived without the code (a hotline
    # operator's summary): the village named, when exactly one of the town's villages is.
    if not town_code:
        return None
    found = {
        v.code
        for v in load_reference().villages_of(town_code)
        if any(n and n in text for n in (v.name, *v.aliases))
    }
    return found.pop() if len(found) == 1 else None
