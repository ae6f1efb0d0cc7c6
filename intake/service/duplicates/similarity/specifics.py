"""Details that tell two look-alike matters apart (pure, no I/O).

Two appeals about the same kind of problem in the same place are often two matters: another flat
of the same block (602 and 402), another junction of the same avenue, another employer in the
same industrial park. Writers who describe one matter agree on such details when both give them,
so two that both give one and disagree are two matters; staff decide, the detector never merges
them on its own (`scorer.may_link`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from intake.service.duplicates.similarity.places import place_kind

# A flat: the number after a block or a house number (7栋602, 3座1201, 新村路8号201) or before
# 室 / 房 / 户 (602室, 1203房, 201租户).
_UNIT_RE = re.compile(
    r"(?:栋|座|幢|单元|(?<![编案])号)\s*(\d{3,4})(?!\d)|(?<!\d)(\d{3,4})\s*(?:室|房|户|租户|住户)"
)
# A block (7栋, A座, 5幢) and a floor (3楼, 十二层, 二楼): 栋, 座 and 幢 are one word told three ways.
_BLOCK_RE = re.compile(r"(?<![\dA-Za-z])([A-Za-z]|\d{1,3})\s*(?:栋|座|幢)")
_FLOOR_RE = re.compile(
    r"(?<![\d一二三四五六七八九十])(\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:楼|层)(?![道梯顶下上面])"
)
# An entrance of a block (1单元, 二单元): another entrance, another stairwell's matter.
_ENTRANCE_RE = re.compile(r"(?<![\d一二三四五六七八九十])(\d{1,2}|[一二三四五六七八九十]{1,2})\s*单元")
# A writer saying in words that this is not the matter or person already reported: 非同一人,
# 唔系同一间, 另外一件事, 不是上次那个. Nobody who reports the same matter again writes that.
_SAID_OTHER_RE = re.compile(
    r"(?:不是|并非|并不是|非|唔系|唔係|唔是)同一(?:个|位|人|间|家|户|件|宗|处|栋|座|单位|厂|公司|地方|事|只|条|盏|辆|批)"
    r"|另(?:外)?一(?:件|宗|单)(?:事|问题|诉求)?"
    r"|(?:不是|唔系|唔係|并非)(?:上次|之前|前面|刚才|上回)(?:嗰|那|个|反映|说|讲)"
)
# The way a carriageway runs (北往南, 往南方向, 南行车道 -> 南): the other side of a road is another spot.
_HEADING_RE = re.compile(
    r"[东南西北]往([东南西北])|往([东南西北])(?:方向|行)|([东南西北])(?:行|向)(?:车道|辅道|方向)"
)
_HANZI_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
# An employer or a business: what comes before 厂 / 公司 / 酒店 / 商场 / 超市 names it, back to the
# word that opens the name (一家, 某, 的, a place's suffix…).
_ORG_SUFFIX_RE = re.compile(r"有限责任公司|股份有限公司|有限公司|公司|制品厂|工厂|厂|酒店|商场|超市")
_ORG_OPENERS_RE = re.compile(
    r"一家|一间|这家|那家|呢间|嗰间|这个|那个|呢个|嗰个|该|某|的|在|社区|村|镇|街道|工业区|园区|路|街|号"
    r"|[，。、：；！？\s（）()【】\[\]]"
)
# 厂 as the place of one already named (厂门口, 厂里, 厂房, 厂方): what comes before it is a clause
# (员工聚集厂门口, 【附件】厂门口照片), not a name.
_ORG_AS_PLACE_RE = re.compile(r"门口|门前|里|内|外|房|方|长|区")
# What a name says of every employer: which one it is lies in the rest.
_ORG_NOISE_RE = re.compile(r"制品|实业|科技|东莞市|东莞")
_NOT_IN_A_NAME = frozenset("因有和了是说就都也很被把让给对从向我你他她们咪嘅啲")
_NO_ROAD = frozenset(
    {"行人路", "人行路", "马路", "大马路", "公路", "小路", "大路", "山路", "村路", "水泥路", "泥路"}
)
_ROAD_KINDS = frozenset(
    {"路", "大道", "街", "大街", "东路", "西路", "南路", "北路", "中路", "一路", "二路", "三路"}
)


def _floor_number(word: str) -> int:
    # 3 -> 3, 十二 -> 12, 二十 -> 20: floors only, so two characters around 十 at most.
    if word.isdigit():
        return int(word)
    tens, _, ones = word.rpartition("十")
    if "十" not in word:
        return _HANZI_DIGITS.get(word, 0)
    return (_HANZI_DIGITS.get(tens, 1) if tens else 1) * 10 + _HANZI_DIGITS.get(ones, 0)


@lru_cache(maxsize=4096)
def units(text: str) -> frozenset[str]:
    """The flat numbers a text names (7栋602 -> 602, 1203房 -> 1203)."""
    return frozenset(a or b for a, b in _UNIT_RE.findall(text))


@lru_cache(maxsize=4096)
def blocks(text: str) -> frozenset[str]:
    """The blocks of an estate a text names (7栋, A座, 5幢 -> 7, A, 5)."""
    return frozenset(b.upper() for b in _BLOCK_RE.findall(text))


@lru_cache(maxsize=4096)
def entrances(text: str) -> frozenset[int]:
    """The entrances of a block a text names (1单元, 二单元 -> 1, 2)."""
    return frozenset(_floor_number(e) for e in _ENTRANCE_RE.findall(text))


@lru_cache(maxsize=4096)
def floors(text: str) -> frozenset[int]:
    """The floors a text names (3楼, 十二层, 二楼 -> 3, 12, 2); 楼道, 楼梯, 楼顶 are not floors."""
    return frozenset(_floor_number(f) for f in _FLOOR_RE.findall(text))


@lru_cache(maxsize=4096)
def employers(text: str) -> frozenset[str]:
    """The employers and businesses a text names by name, without what every name says
    (一家五金制品厂 -> 五金, 某塑胶制品有限公司 -> 塑胶); unnamed ones (这家厂) are left out."""
    out = set()
    start = 0
    for suffix in _ORG_SUFFIX_RE.finditer(text):
        before = text[max(start, suffix.start() - 12) : suffix.start()]
        start = suffix.end()
        if suffix.group(0) == "厂" and _ORG_AS_PLACE_RE.match(text, suffix.end()):
            continue
        stem = _ORG_NOISE_RE.sub("", _ORG_OPENERS_RE.split(before)[-1])
        # A name is short and has no words of a sentence in it (…夫妻因工厂倒闭, 怀疑有厂偷排,
        # 留下姓名和厂名): those are clauses that happen to end before 厂.
        if 2 <= len(stem) <= 6 and not _NOT_IN_A_NAME & set(stem) and not text.startswith("名", suffix.end()):
            out.add(stem)
    return frozenset(out)


def roads(places: frozenset[str]) -> frozenset[str]:
    """The roads and streets among place names; a kind of road (行人路, Cantonese for the
    pavement; 马路; 公路) names no road."""
    return frozenset(p for p in places if place_kind(p) in _ROAD_KINDS and p not in _NO_ROAD)


def _related(a: str, b: str) -> bool:
    # Any character in common: 立信 / 立信电子, and 注塑 / 塑胶 (one plastics works told two ways).
    # Lenient on purpose: a conflict only ever stops a merge, and a false one costs a link.
    return bool(set(a) & set(b))


def other_units(a: str, b: str) -> bool:
    """Another home of the same estate: both texts name flats (or blocks, entrances, floors) and
    none of one's is the other's."""
    parts: tuple[Callable[[str], frozenset[str] | frozenset[int]], ...] = (units, blocks, entrances, floors)
    for part in parts:
        pa, pb = part(a), part(b)
        if pa and pb and not pa & pb:
            return True
    return False


def other_employers(a: str, b: str) -> bool:
    """Both texts name employers, and none of one is related to one of the other."""
    ea, eb = employers(a), employers(b)
    return bool(ea and eb and not any(_related(x, y) for x in ea for y in eb))


def other_junction(a: frozenset[str], b: frozenset[str]) -> bool:
    """The same road at another junction: both name a road in common and each names a cross road
    the other does not (厚街大道 at 康乐南路 vs 厚街大道 at 莞太路)."""
    ra, rb = roads(a), roads(b)
    shared = ra & rb
    return bool(shared and ra - shared and rb - shared)


@lru_cache(maxsize=4096)
def headings(text: str) -> frozenset[str]:
    """Which way the carriageways a text names run (北往南方向 -> 南)."""
    return frozenset("".join(m) for m in _HEADING_RE.findall(text))


def other_side(a: str, b: str) -> bool:
    """Both texts say which way the carriageway runs, and they disagree: two sides of a road."""
    ha, hb = headings(a), headings(b)
    return bool(ha and hb and not ha & hb)


@lru_cache(maxsize=4096)
def says_other(text: str) -> bool:
    """Whether a text says in words that it is not the matter or person reported before."""
    return _SAID_OTHER_RE.search(text) is not None


# What `told_apart` can find, each the name of the pair's feature that carries it (`scorer`).
DETAILS = ("unit_other", "employer_other", "junction_other", "said_other")


def told_apart(
    text_a: str, text_b: str, places_a: frozenset[str], places_b: frozenset[str]
) -> frozenset[str]:
    """Which of `DETAILS` tell the two apart: another flat, employer, junction or side of the road,
    or either text saying it is another matter."""
    out = set()
    if other_units(text_a, text_b):
        out.add("unit_other")
    if other_employers(text_a, text_b):
        out.add("employer_other")
    if other_junction(places_a, places_b) or other_side(text_a, text_b):
        out.add("junction_other")
    if says_other(text_a) or says_other(text_b):
        out.add("said_other")
    return frozenset(out)
