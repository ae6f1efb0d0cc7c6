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
# Not a floor: 3层旧楼 / 六层高 (how tall a building is) or 三楼以上 (a range of floors).
_FLOOR_RE = re.compile(
    r"(?<![\d一二三四五六七八九十])(\d{1,2}|[一二三四五六七八九十]{1,3})\s*"
    r"(?:楼(?![道梯顶下上面])|层(?![道梯顶下上面楼高]|旧楼|的楼|民房|小楼|自建房))(?!以上|以下|或以上)"
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
# Illnesses a doctor names, each group one illness however a writer puts it (心梗 / 心肌梗塞 /
# 放了支架). Whoever reports one patient's need names the same illness; two that name illnesses
# and none in common are two patients (丈夫心梗 / 妻子乳腺癌 in one village). What names no illness
# in particular (重病, 大病, 癌症, 肿瘤, 住院) is left out: it agrees with any.
_ILLNESSES = {
    "stroke": "中风|脑梗|脑梗塞|脑梗死|脑卒中|脑出血|脑溢血|偏瘫",
    "heart": "心梗|心肌梗|心脏病|心脏支架|放了支架|放咗支架|冠心病|心衰|心力衰竭|先心病|先天性心脏病|心脏搭桥",
    "kidney": "尿毒症|肾衰|透析|洗肾|肾病",
    "leukaemia": "白血病",
    "breast_cancer": "乳腺癌|乳癌",
    "liver_cancer": "肝癌",
    "lung_cancer": "肺癌",
    "stomach_cancer": "胃癌",
    "npc": "鼻咽癌",
    "cervical_cancer": "宫颈癌",
    "bowel_cancer": "肠癌|结肠癌|直肠癌",
    "oesophageal_cancer": "食道癌|食管癌",
    "pancreatic_cancer": "胰腺癌",
    "lymphoma": "淋巴瘤|淋巴癌",
    "bone_cancer": "骨癌|骨肉瘤",
    "cerebral_palsy": "脑瘫",
    "autism": "自闭症|孤独症",
    "dementia": "老年痴呆|阿尔茨海默|认知障碍|失智|老人痴呆",
    "parkinson": "帕金森",
    "cataract": "白内障",
    "epilepsy": "癫痫|羊癫疯",
    "thalassaemia": "地中海贫血|地贫",
    "pneumoconiosis": "尘肺|矽肺",
    "lupus": "红斑狼疮",
}
_ILLNESS_RE = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _ILLNESSES.items()))
# A gate, an exit or a section by its compass point (市场东门 / 西门, 旧村东片 / 西片): another
# gate or section of one place is another spot. Not 东门路 / 西门社区 (names), nor 东北门 (a
# gate two writers may give by either of its points).
_GATE_RE = re.compile(r"(?<![东南西北])([东南西北])(?:门|片|出口|入口)(?![路街村社])")
# A child by sex (儿子 / 女儿, 男孩 / 女孩, 孙子 / 孙女): a boy in one appeal and a girl in the
# other are two children.
_CHILD_RE = re.compile(r"(男孩|男童|儿子|孙子|外孙(?!女)|男仔|仔仔)|(女孩|女童|女儿|孙女|外孙女|女仔|囡囡)")
_HANZI_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
# An employer or a business: what comes before 厂 / 公司 / 酒店 / 商场 / 超市 names it, back to the
# word that opens the name (一家, 某, 的, a place's suffix…).
_ORG_SUFFIX_RE = re.compile(r"有限责任公司|股份有限公司|有限公司|公司|制品厂|工厂|厂|酒店|商场|超市")
_ORG_OPENERS_RE = re.compile(
    r"一家|一间|这家|那家|呢间|嗰间|这个|那个|呢个|嗰个|该|某|的|在|社区|村|镇|街道|工业区|园区|路|街|号"
    r"|联系|会同|协调|通知|督促|约谈|要求|协商|由|请|反映|投诉|举报"
    r"|[，。、：；！？\s（）()【】\[\]]"
)
# 厂 as the place of one already named (厂门口, 厂里, 厂房, 厂方): what comes before it is a clause
# (员工聚集厂门口, 【附件】厂门口照片), not a name.
_ORG_AS_PLACE_RE = re.compile(r"门口|门前|里|内|外|房|方|长|区")
# A kind of service named after what it does (环卫公司, 物业公司, 水务公司), not which one it is:
# one called in to act, seldom the matter itself.
_ORG_KINDS = frozenset(
    {"环卫", "物业", "水务", "供电", "燃气", "自来水", "电力", "保安", "保洁", "快递", "外卖", "搬家", "施工"}
)
# What a name says of every employer: which one it is lies in the rest.
_ORG_NOISE_RE = re.compile(r"制品|实业|科技|东莞市|东莞")
_NOT_IN_A_NAME = frozenset("因有和了是说就都也很被把让给对从向我你他她们咪嘅啲")
# What a works makes, which many of one industrial park share (华美家具 / 雅居家具): the name is
# the rest.
_PRODUCT_RE = re.compile(
    r"家具|五金|塑胶|塑料|注塑|电子|纸品|纸箱|鞋业|鞋|制衣|服装|模具|玩具|包装|印刷|电器|灯饰|毛织|食品|机械|"
    r"金属|纺织|皮具|光电|贸易|箱包|眼镜|线材|化工|建材|陶瓷|针织|织造"
)
# Words around a works that are no part of its name (村尾嗰间五金厂: "the hardware works at the
# end of the village"); 𠮶 is 嗰 after the traditional -> simplified conversion.
_NOT_A_NAME_CHARS = frozenset("一间𠮶嗰家个那这呢尾头口边旁后前")
_NO_ROAD = frozenset(
    {"行人路", "人行路", "马路", "大马路", "公路", "小路", "大路", "山路", "村路", "水泥路", "泥路"}
    # What a street is made of or how old it is (石板路, 老街), not which one.
    | {"石板路", "青石板路", "麻石路", "老街", "旧街"}
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
        if (
            2 <= len(stem) <= 6
            and stem not in _ORG_KINDS
            and not _NOT_IN_A_NAME & set(stem)
            and not text.startswith("名", suffix.end())
        ):
            out.add(stem)
    return frozenset(out)


def roads(places: frozenset[str]) -> frozenset[str]:
    """The roads and streets among place names; a kind of road (行人路, Cantonese for the
    pavement; 马路; 公路) names no road."""
    return frozenset(p for p in places if place_kind(p) in _ROAD_KINDS and p not in _NO_ROAD)


def _name(employer: str) -> str:
    """What names a works among the words before 厂 / 公司: neither what it makes nor filler."""
    return "".join(c for c in _PRODUCT_RE.sub("", employer) if c not in _NOT_A_NAME_CHARS)


def _related(a: str, b: str) -> bool:
    # Names compared without what the works make: any character in common (立信 / 立信电子) is
    # one employer told two ways. A side that names only what is made (家具厂工人) may be any
    # works that makes it, and two that name only that are one when it agrees (注塑 / 塑胶).
    # Lenient on purpose: a conflict only ever stops a merge, and a false one costs a link.
    name_a, name_b = _name(a), _name(b)
    if name_a and name_b:
        return bool(set(name_a) & set(name_b))
    # One or both unnamed: then what they make tells (五金厂 / 塑胶厂 are two works).
    made_a, made_b = "".join(_PRODUCT_RE.findall(a)), "".join(_PRODUCT_RE.findall(b))
    return not made_a or not made_b or bool(set(made_a) & set(made_b))


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
    # 华美家具厂 … 家具厂工人: where a text names the works, what it makes alone adds nothing.
    ea = frozenset(e for e in ea if _name(e)) or ea
    eb = frozenset(e for e in eb if _name(e)) or eb
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
def children(text: str) -> frozenset[str]:
    """The sexes of the children a text names ("m", "f")."""
    return frozenset("m" if boy else "f" for boy, _ in _CHILD_RE.findall(text))


def other_child(a: str, b: str) -> bool:
    """Each text names children of one sex only, and not the same: a boy here, a girl there."""
    ca, cb = children(a), children(b)
    return len(ca) == 1 and len(cb) == 1 and ca != cb


@lru_cache(maxsize=4096)
def gates(text: str) -> frozenset[str]:
    """The compass points of the gates, exits and sections a text names (东门, 西片 -> 东, 西)."""
    return frozenset(_GATE_RE.findall(text))


def other_gate(a: str, b: str) -> bool:
    """Both texts name a gate or section by its compass point, and none agrees."""
    ga, gb = gates(a), gates(b)
    return bool(ga and gb and not ga & gb)


@lru_cache(maxsize=4096)
def says_other(text: str) -> bool:
    """Whether a text says in words that it is not the matter or person reported before."""
    return _SAID_OTHER_RE.search(text) is not None


@lru_cache(maxsize=4096)
def illnesses(text: str) -> frozenset[str]:
    """The illnesses a text names, by group (心肌梗塞 and 心梗 -> heart)."""
    return frozenset(m.lastgroup for m in _ILLNESS_RE.finditer(text) if m.lastgroup)


def other_illness(a: str, b: str) -> bool:
    """Both texts name an illness, and none of one's is the other's: two patients."""
    ia, ib = illnesses(a), illnesses(b)
    return bool(ia and ib and not ia & ib)


# What `told_apart` can find, each the name of the pair's feature that carries it (`scorer`).
DETAILS = (
    "unit_other",
    "employer_other",
    "junction_other",
    "said_other",
    "illness_other",
    "child_other",
)


def told_apart(
    text_a: str, text_b: str, places_a: frozenset[str], places_b: frozenset[str]
) -> frozenset[str]:
    """Which of `DETAILS` tell the two apart: another flat, employer, junction, side of the road or
    gate, another illness or child, or either text saying it is another matter."""
    out = set()
    if other_units(text_a, text_b):
        out.add("unit_other")
    if other_employers(text_a, text_b):
        out.add("employer_other")
    if other_junction(places_a, places_b) or other_side(text_a, text_b) or other_gate(text_a, text_b):
        out.add("junction_other")
    if says_other(text_a) or says_other(text_b):
        out.add("said_other")
    if other_illness(text_a, text_b):
        out.add("illness_other")
    if other_child(text_a, text_b):
        out.add("child_other")
    return frozenset(out)
