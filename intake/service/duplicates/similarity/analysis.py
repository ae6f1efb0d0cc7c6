"""Feature extraction (pure): an appeal's text and place read into a `Doc`.

Concepts first (the lexicon's objects and conditions), then words (segmented, stop words out) and
character bigrams, with place words taken apart; people, kin, ages and spots within a place too.
"""

from __future__ import annotations

import gc
import re

from intake.service.duplicates.lexicon import STOPWORDS, WORD_SYNONYMS
from intake.service.duplicates.similarity.doc import Doc, bigrams_of
from intake.service.duplicates.similarity.measures import idf_table
from intake.service.duplicates.similarity.places import fine_places, is_place, merge_places, village_named
from intake.service.duplicates.similarity.text import KEEP_RE, concept_re, kin_re, place_names, segment
from intake.service.privacy import PERSON_RE as _PERSON_RE
from services.common.reference.locate import gcj02_to_wgs84
from services.common.text import normalise_text

_NUMERIC_RE = re.compile(r"^[0-9A-Za-z]{1,2}$")
TEXT_CAP = 600  # characters of an appeal compared; the gist is at the start


_AGE_RE = re.compile(r"(\d{1,3})\s*(?:岁|周岁)")
# A spot within a place: 东门, 北侧, 三巷, 5栋, 4楼, 东段, 2号 — the detail that tells one flat,
# one gate or one section of a road from the next.
_SPOT_RE = re.compile(
    r"([0-9一二三四五六七八九十东南西北中前后正侧]{1,3})(号楼|号|栋|座|楼|层|巷|段|侧|门|出口|入口)"
)


def warm_up() -> None:
    """Load the dictionary and the tables now (about a second), not on a resident's appeal, and
    leave what the process holds by then out of the garbage collector's full passes."""
    analyse(None, "路灯坏了")
    idf_table()
    # What is loaded at start lives as long as the process, yet every full collection walked it:
    # at 200,000 appeals two of them fell within 336 lookups and took 90-126 ms each, the
    # slowest lookups of the benchmark (README). Frozen, a full pass walks what came since.
    gc.collect()
    gc.freeze()


_HONORIFICS = {
    "阿婆": "婆",
    "婆婆": "婆",
    "阿姨": "姨",
    "阿伯": "伯",
    "伯伯": "伯",
    "大伯": "伯",
    "大爷": "伯",
}
_HONORIFICS |= {"大哥": "哥", "大姐": "姐", "大叔": "叔", "大婶": "婶", "某某": "某"}


def _honorific(word: str) -> str:
    # 陈阿婆 and 陈婆婆 are one person; 赵某 and 赵某某 too.
    return _HONORIFICS.get(word, word)


def analyse(
    title: str | None,
    description: str,
    address: str | None = None,
    *,
    town_code: str | None = None,
    village_code: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    datum: str = "wgs84",
) -> Doc:
    """Concepts, words, places and character bigrams of an appeal."""
    raw = " ".join(p for p in (title, description) if p)
    text = normalise_text(raw)[:TEXT_CAP]
    persons = frozenset(m.group(1) + _honorific(m.group(2)) for m in _PERSON_RE.finditer(text))
    kin_pattern, kin_lookup = kin_re()
    kin = frozenset(kin_lookup[m.group(0)] for m in kin_pattern.finditer(text))
    ages = frozenset(int(m.group(1)) for m in _AGE_RE.finditer(text))
    spots = frozenset(m.group(1) + m.group(2) for m in _SPOT_RE.finditer(f"{address or ''} {text}"))
    pattern, lookup = concept_re()
    objects: set[str] = set()
    conditions: set[str] = set()

    def fold(m: re.Match[str]) -> str:
        found = lookup.get(m.group(0))
        if found is None:  # a place name: left for the place analysis
            return m.group(0)
        for concept, sort in found:
            (objects if sort == "o" else conditions).add(concept)
        return " "

    rest = pattern.sub(fold, text)
    words: set[str] = set()
    places: set[str] = fine_places(address)
    bigram_source: list[str] = []
    for token in merge_places([t.strip() for t in segment(rest)]):
        if not token or not KEEP_RE.fullmatch(token):
            continue
        if is_place(token):
            if token not in place_names():
                places.add(token)
            continue
        if token in STOPWORDS or _NUMERIC_RE.match(token) or len(token) < 2:
            continue
        token = WORD_SYNONYMS.get(token, token)
        words.add(token)
        bigram_source.append(token)
    # Bigrams over the concept-bearing text with places removed: catches near-verbatim copies.
    stripped = text
    for place in sorted(places | {p for p in place_names() if p in text}, key=len, reverse=True):
        stripped = stripped.replace(place, " ")
    chars = "".join(KEEP_RE.findall(stripped))
    bigrams = bigrams_of(chars)
    wlat, wlng = lat, lng
    if lat is not None and lng is not None and datum == "gcj02":
        wlat, wlng = gcj02_to_wgs84(lat, lng)
    if village_code is None:
        village_code = village_named(f"{address or ''} {text}", town_code)
    return Doc(
        objects=frozenset(objects),
        conditions=frozenset(conditions),
        words=frozenset(words),
        places=frozenset(places),
        bigrams=bigrams,
        text=stripped[:TEXT_CAP],
        persons=persons,
        kin=kin,
        ages=ages,
        spots=spots,
        town_code=town_code,
        village_code=village_code,
        lat=wlat,
        lng=wlng,
    )
