"""How alike two appeals are (pure functions, no I/O): concepts, words, characters and place.

Why this method. Appeals are short (one to five sentences), written or spoken by different people
through different doors, so the same broken street light arrives as "东方路路灯坏了好几盏" from the
mini-program and "来电反映北栅社区东方路一带夜间照明不足" from the 12345 operator. Measures over raw
text shingles (MinHash or SimHash over character n-grams) see little overlap in such pairs, and they
see a lot of overlap in "the same street, another problem" (both texts name the street). So:

1. **Concepts first.** Each surface phrase folds to a canonical concept (`lexicon`): an *object*
   (路灯, 井盖, 下水道, 医疗费…) and a *condition* (损坏, 堵塞, 缺失…). Different objects are the
   strongest evidence of different problems.
2. **Words** (jieba segmentation, stop words out) and **character bigrams** catch what the concept
   table does not know (a family's name, a shop, an unusual object).
3. **Place apart.** Place words come out of the text and are compared as place: same village,
   distance between coordinates (GCJ-02 folded to WGS-84 first), a shared road or estate name.

The score is text likeness times place likeness, in [0, 1]. Candidate *retrieval* (which appeals to
score at all) uses MinHash with LSH banding over the same concept and word sets, plus concept keys,
each key scoped by village, town or a ~500 m grid cell (`lsh`), and stored in a GIN-indexed array:
an arrival is compared with a few dozen appeals, never with all of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from intake.service.duplicates.lexicon import (
    FAMILIES,
    GENERIC_PLACES,
    KIN,
    NOT_PLACES,
    PLACE_SUFFIXES,
    PLACE_WORDS,
    STOPWORDS,
    WORD_SYNONYMS,
    concept_phrases,
)
from intake.service.duplicates.lexicon import (
    PLACE_SUFFIXES as _SUFFIXES,
)
from intake.service.privacy import PERSON_RE as _PERSON_RE
from services.common.reference import load_reference
from services.common.reference.locate import gcj02_to_wgs84, haversine_metres
from services.common.text import normalise_text

_KEEP_RE = re.compile(r"[\u4e00-\u9fffA-Za-z]+")
_NUMERIC_RE = re.compile(r"^[0-9A-Za-z]{1,2}$")
TEXT_CAP = 600  # characters of an appeal compared; the gist is at the start


class _Tokenizer(Protocol):
    def lcut(self, sentence: str) -> list[str]: ...


@lru_cache(maxsize=1)
def _place_names() -> frozenset[str]:
    ref = load_reference()
    names: set[str] = set(PLACE_WORDS)
    for town in ref.towns:
        names.update({town.name, town.full_name, *town.aliases})
    for village in ref.villages:
        names.update({village.name, *village.aliases})
    return frozenset(n for n in names if len(n) >= 2)


_tokenizer_lock = threading.Lock()


class _Rjieba:
    """rjieba (jieba's algorithm and dictionary in Rust) behind jieba's `lcut`: the same words on
    every labelled appeal with our place names added, ~18 times faster (bench/native_text.py)."""

    def __init__(self) -> None:
        import rjieba

        self._jieba = rjieba.Jieba()

    def add_word(self, word: str, freq: int) -> None:
        self._jieba.add_word(word, freq, None)

    def lcut(self, sentence: str) -> list[str]:
        return list(self._jieba.cut(sentence))


@lru_cache(maxsize=1)
def _tokenizer() -> _Tokenizer:
    # A private tokenizer that knows our concepts and place names as whole words.
    tok = _Rjieba()
    for name in _place_names():
        tok.add_word(name, freq=200000)
    return tok


@lru_cache(maxsize=1)
def _concept_re() -> tuple[re.Pattern[str], dict[str, list[tuple[str, str]]]]:
    # Place names are alternatives of the same pattern (longest first) and fold to nothing, so
    # that 东坑 (a town) is never read as a 坑 in the road, nor 麻涌 as a river.
    lookup: dict[str, list[tuple[str, str]]] = {}
    for phrase, concept, sort in concept_phrases():
        lookup.setdefault(phrase, []).append((concept, sort))
    places = [p for p in _place_names() if p not in lookup]
    alternatives = sorted([*lookup, *places], key=lambda p: (-len(p), p))
    pattern = re.compile("|".join(re.escape(p) for p in alternatives))
    return pattern, lookup


_AGE_RE = re.compile(r"(\d{1,3})\s*(?:岁|周岁)")
# A spot within a place: 东门, 北侧, 三巷, 5栋, 4楼, 东段, 2号 — the detail that tells one flat,
# one gate or one section of a road from the next.
_SPOT_RE = re.compile(
    r"([0-9一二三四五六七八九十东南西北中前后正侧]{1,3})(号楼|号|栋|座|楼|层|巷|段|侧|门|出口|入口)"
)


@lru_cache(maxsize=1)
def _kin_re() -> tuple[re.Pattern[str], dict[str, str]]:
    lookup = {phrase: kin for kin, phrases in KIN.items() for phrase in phrases}
    return re.compile("|".join(re.escape(p) for p in sorted(lookup, key=len, reverse=True))), lookup


def warm_up() -> None:
    """Load the dictionary and the tables now (about a second), not on a resident's appeal."""
    analyse(None, "路灯坏了")
    _idf_table()


def _segment(text: str) -> list[str]:
    with _tokenizer_lock:
        return _tokenizer().lcut(text)


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


# Words that end like a road but point at one or act on one: 那条路 / 呢条街 / (后面)条巷 (a measure
# word: "the lane"), 这段路 / 整段路 / 一段路, 挡路 / 走路 / 绕路 (a verb and its object). Read as
# places, two writers' wordings of one spot look like two different roads.
_NOT_A_NAME_RE = re.compile(r"^(?:[那这哪嗰呢整一]|[挡走过绕拦堵封修上出行开]路$)|条(?:路|街|巷)$|段路$")


def _is_place(token: str) -> bool:
    if token in _place_names():
        return True
    return (
        token not in NOT_PLACES
        and len(token) >= 2
        and token.endswith(PLACE_SUFFIXES)
        and not (token.endswith(("路", "街", "巷")) and _NOT_A_NAME_RE.search(token))
    )


@dataclass(frozen=True)
class Doc:
    """What duplicate detection keeps of one appeal."""

    objects: frozenset[str]
    conditions: frozenset[str]
    words: frozenset[str]
    places: frozenset[str]
    bigrams: frozenset[str]
    text: str
    persons: frozenset[str] = frozenset()
    kin: frozenset[str] = frozenset()  # 父, 母, 子… (lexicon.KIN)
    ages: frozenset[int] = frozenset()  # "81岁" -> 81
    spots: frozenset[str] = frozenset()  # 东门, 三巷, 5栋…
    town_code: str | None = None
    village_code: str | None = None
    lat: float | None = None  # WGS-84
    lng: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def families(self) -> frozenset[str]:
        """The families of the objects named (照明交通, 排水, 医疗…)."""
        return frozenset(FAMILIES[o] for o in self.objects if o in FAMILIES)

    @property
    def tokens(self) -> list[str]:
        """The stored form: objects, conditions and words with a prefix each (sorted)."""
        return sorted(
            [f"o:{o}" for o in self.objects]
            + [f"c:{c}" for c in self.conditions]
            + [f"w:{w}" for w in self.words]
            + [f"n:{n}" for n in self.persons]
            + [f"k:{k}" for k in self.kin]
            + [f"a:{a}" for a in self.ages]
            + [f"s:{x}" for x in self.spots]
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


def place_kind(place: str) -> str:
    """The kind of place a name ends with (路, 市场, 公园…), or the name itself."""
    return next((s for s in sorted(_SUFFIXES, key=len, reverse=True) if place.endswith(s)), place)


def _merge_places(tokens: list[str]) -> list[str]:
    # 桑园 + 路 -> 桑园路 (a road named after its village is a road, not the village), and
    # 步步高 + 大道 -> 步步高大道.
    out: list[str] = []
    for token in tokens:
        prev = out[-1] if out else ""
        if (
            token in _SUFFIX_TOKENS
            and len(prev) >= 2
            and _KEEP_RE.fullmatch(prev)
            and prev not in STOPWORDS
            and not _is_place(prev)
        ) or (token in _SUFFIX_TOKENS and prev in _place_names()):
            out[-1] = _base(prev) + token
        else:
            out.append(token)
    return out


def _fine_places(address: str | None) -> set[str]:
    if not address:
        return set()
    text = normalise_text(address)
    out = set()
    for token in _merge_places([t.strip() for t in _segment(text)]):
        if len(token) >= 2 and _is_place(token) and token not in _place_names() and not token[0].isdigit():
            out.add(token)
    return out


def _village_named(text: str, town_code: str | None) -> str | None:
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
    kin_pattern, kin_lookup = _kin_re()
    kin = frozenset(kin_lookup[m.group(0)] for m in kin_pattern.finditer(text))
    ages = frozenset(int(m.group(1)) for m in _AGE_RE.finditer(text))
    spots = frozenset(m.group(1) + m.group(2) for m in _SPOT_RE.finditer(f"{address or ''} {text}"))
    pattern, lookup = _concept_re()
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
    places: set[str] = _fine_places(address)
    bigram_source: list[str] = []
    for token in _merge_places([t.strip() for t in _segment(rest)]):
        if not token or not _KEEP_RE.fullmatch(token):
            continue
        if _is_place(token):
            if token not in _place_names():
                places.add(token)
            continue
        if token in STOPWORDS or _NUMERIC_RE.match(token) or len(token) < 2:
            continue
        token = WORD_SYNONYMS.get(token, token)
        words.add(token)
        bigram_source.append(token)
    # Bigrams over the concept-bearing text with places removed: catches near-verbatim copies.
    stripped = text
    for place in sorted(places | {p for p in _place_names() if p in text}, key=len, reverse=True):
        stripped = stripped.replace(place, " ")
    chars = "".join(_KEEP_RE.findall(stripped))
    bigrams = frozenset(chars[i : i + 2] for i in range(len(chars) - 1))
    wlat, wlng = lat, lng
    if lat is not None and lng is not None and datum == "gcj02":
        wlat, wlng = gcj02_to_wgs84(lat, lng)
    if village_code is None:
        village_code = _village_named(f"{address or ''} {text}", town_code)
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


def doc_from_stored(
    tokens: Iterable[str],
    text: str,
    *,
    town_code: str | None,
    village_code: str | None,
    lat: float | None,
    lng: float | None,
    datum: str,
    places: Iterable[str] = (),
) -> Doc:
    """Rebuild a Doc from what the fingerprints table keeps (no segmentation needed)."""
    objects: set[str] = set()
    conditions: set[str] = set()
    words: set[str] = set()
    persons: set[str] = set()
    kin: set[str] = set()
    spots: set[str] = set()
    ages: set[int] = set()
    stored_places: set[str] = set(places)
    for t in tokens:
        sort, _, value = t.partition(":")
        if sort == "k":
            kin.add(value)
        elif sort == "s":
            spots.add(value)
        elif sort == "a" and value.isdigit():
            ages.add(int(value))
        else:
            {"o": objects, "c": conditions, "w": words, "p": stored_places, "n": persons}.get(
                sort, words
            ).add(value)
    chars = "".join(_KEEP_RE.findall(text))
    wlat, wlng = lat, lng
    if lat is not None and lng is not None and datum == "gcj02":
        wlat, wlng = gcj02_to_wgs84(lat, lng)
    return Doc(
        objects=frozenset(objects),
        conditions=frozenset(conditions),
        words=frozenset(words),
        places=frozenset(stored_places),
        bigrams=frozenset(chars[i : i + 2] for i in range(len(chars) - 1)),
        text=text,
        persons=frozenset(persons),
        kin=frozenset(kin),
        ages=frozenset(ages),
        spots=frozenset(spots),
        town_code=town_code,
        village_code=village_code,
        lat=wlat,
        lng=wlng,
    )


def stored_tokens(doc: Doc) -> list[str]:
    """Tokens plus places, as the fingerprints table keeps them."""
    return doc.tokens + sorted(f"p:{p}" for p in doc.places)


@lru_cache(maxsize=1)
def _idf_table() -> tuple[dict[str, float], float]:
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
    table, median = _idf_table()
    return table.get(word, median)


def idf_overlap(a: frozenset[str], b: frozenset[str]) -> tuple[float, float]:
    """(IDF-weighted Jaccard, IDF-weighted share of the smaller set) of two word sets."""
    if not a or not b:
        return 0.0, 0.0
    shared = sum(idf(w) for w in a & b)
    total_a, total_b = sum(idf(w) for w in a), sum(idf(w) for w in b)
    union = total_a + total_b - shared
    return (shared / union if union else 0.0), shared / min(total_a, total_b)


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
