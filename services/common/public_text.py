"""Personal data out of text the public reads (公开文本脱敏): names, numbers, ids, plates, e-mail.

Public pages (disclosure, the public appeal list, Open311) show what residents wrote about a
street light or a ramp; they must never show who wrote it or how to reach them. Masking only
"我叫X" let through "联系人王小明", "黄志强先生", a bare "欧阳春花", a phone written in Chinese
numerals and a WeChat id. This module finds those forms and fails safe: what is certainly personal
is masked in place; a sentence that may still hold a name it cannot place is withheld whole.

Pure functions; the only data are the surname list below, jieba's dictionary (to tell a common
word that starts with a surname character, such as 高度 or 马上, from a name) and the reference
place names (石龙, 常平 and 黄江 are places, not people).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from services.common.text import fold_width

__all__ = ["WITHHELD", "Scrubbed", "public_text", "scrub_public_text"]

WITHHELD: Final = "（此处涉及个人信息，已隐去）"
_STAR: Final = "*"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The common single surnames (about 90% of the population) and the compound ones. Rare surnames
# that are everyday characters (路, 东, 门, 水…) are left out on purpose: a name written with one of
# them still falls to the introducer, kinship and title patterns below.
_SINGLE_SURNAMES: Final = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "温冼麦岑欧巫赖庞古甘凌柯翁卓谷植骆祝涂殷饶童聂蓝尤易詹施文左伍"
)
_COMPOUND_SURNAMES: Final = _words(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 司徒 令狐 长孙 宇文 夏侯 端木 南宫"
)
# Words that introduce a person by name: 我叫王小明, 联系人：王小明, 户主陈志明, 儿子李浩.
_INTRODUCERS: Final = _words(
    "我叫 我是 本人 名叫 叫做 姓名 名字是 联系人 户主 申请人 来电人 求助人 反映人 患者 当事人 家属 受助人 负责人 老人 村民 居民 业主 租户 工友 同事 邻居 老乡 儿子 女儿 老公 丈夫 妻子 老婆 爱人 父亲 母亲 爸爸 妈妈 爷爷 奶奶 外婆 外公 孙子 孙女 哥哥 姐姐 弟弟 妹妹 儿媳 女婿 孩子 学生 联系 找"
)
# Titles and roles after a name: 黄志强先生, 林美玲女士, 陈伯, 李主任.
_TITLES: Final = _words(
    "先生 女士 小姐 太太 阿姨 叔叔 伯伯 婆婆 奶奶 爷爷 公公 大爷 大妈 大姐 大哥 师傅 老师 医生 护士 书记 主任 村长 组长 社长 站长 经理 老板 同学 伯 叔 婶 姨 嫂 婆 姐 哥 仔 妹 氏 某"
)
# Characters that cannot be part of a given name: grammar words and place or thing suffixes.
_NOT_IN_NAME: Final = frozenset(
    "的了在是和与及或说讲问到从向把被给让对为因所以就也都还又很太最更已要想会能可该请帮来去过着吗呢吧啊呀"
    "村镇路街道巷区社桥园湖山江河涌塘坑岭岗围坊里苑楼厂市站店场院校所局队组会户人们这那哪些个位名岁年月日号"
    "某，。、；：！？,.;:!?（）()“”\"' \n\t"
)
_PLACE_SUFFIXES: Final = "村镇路街道巷区社桥园湖山江河涌塘坑岭岗围坊里苑楼厂市站圩墟城"
_NAME_TAGS: Final = frozenset({"nr", "nrfg", "nrt"})

# Numbers. Digits and Chinese numerals (幺 and 洞 as operators read 1 and 0), with the separators
# people type between groups.
_DIGIT = r"[0-9零〇一二三四五六七八九幺两洞]"
_NUMBER_RUN = re.compile(rf"(?<![A-Za-z0-9]){_DIGIT}(?:[\s\-–—.·]?{_DIGIT}){{5,}}[0-9Xx]?(?![0-9])")
_DATE = re.compile(r"^(?:19|20)\d{2}[-./年]\d{1,2}(?:[-./月]\d{1,2}日?)?$")
_UNIT_AFTER = re.compile(
    r"^\s*(?:元|块|万|亿|平方|平米|米|公里|公斤|斤|户|人|岁|个|台|盏|次|天|年|份|套|件|吨|辆)"
)
_WECHAT = re.compile(
    r"wxid_[A-Za-z0-9_\-]{4,}|(?:微信号?|VX号?|vx号?|V信|v信|weixin|wechat|WeChat)\s*[:：是为]?\s*[A-Za-z][A-Za-z0-9_\-]{4,19}",
)
_QQ = re.compile(r"(?:QQ|qq|Qq|扣扣)\s*号?\s*[:：是为]?\s*[1-9][0-9]{4,11}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][\s·.\-]?[A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]"
)
# An exact house number: 12号, 3栋502, 5巷8号, 二单元301房 (micro-wishes show nothing finer than the village).
_HOUSE = re.compile(
    r"(?:[0-9一二三四五六七八九十百零〇]+\s*(?:号楼|号院|号|栋|幢|座|单元|室|房|楼|巷|弄|坊)\s*)+[0-9]*"
)
_SENTENCE = re.compile(r"[^。！？!?；;\n]*[。！？!?；;\n]?")


@dataclass
class Scrubbed:
    """Text fit for the public, and what was taken out of it (kinds only, never values)."""

    text: str
    found: list[str] = field(default_factory=list)
    withheld: int = 0


def public_text(text: str | None, *, house_numbers: bool = False) -> str:
    """`text` with personal data removed; see :func:`scrub_public_text`."""
    return scrub_public_text(text, house_numbers=house_numbers).text


def scrub_public_text(text: str | None, *, house_numbers: bool = False) -> Scrubbed:
    """Remove personal data from text shown to the public, failing safe.

    Masked in place: phone, ID, QQ and other long numbers in digits or Chinese numerals (with any
    separators), WeChat ids, e-mail addresses, plate numbers, names after an introducer, a kin word
    or before a title, ``老王`` / ``小李`` / ``阿强`` forms, and (``house_numbers``) exact house
    numbers. Withheld whole: a sentence that still holds what looks like a bare name (a common
    surname followed by characters that form no common word or known place).
    """
    result = Scrubbed(text="")
    if not text:
        return result
    folded = fold_width(text)
    pieces: list[str] = []
    last_withheld = False
    for sentence in _SENTENCE.findall(folded):
        if not sentence:
            continue
        cleaned = _mask_certain(sentence, result.found, house_numbers)
        if _uncertain_name(cleaned):
            result.withheld += 1
            result.found.append("possible_name")
            if not last_withheld:
                pieces.append(WITHHELD)
            last_withheld = True
            continue
        pieces.append(cleaned)
        last_withheld = False
    result.text = "".join(pieces)
    return result


def _mask_certain(sentence: str, found: list[str], house_numbers: bool) -> str:
    out = sentence
    for kind, pattern in (("wechat", _WECHAT), ("qq", _QQ), ("email", _EMAIL), ("plate", _PLATE)):
        out, n = pattern.subn(lambda m: _STAR * 3, out)
        if n:
            found.append(kind)
    out = _mask_numbers(out, found)
    if house_numbers:
        out, n = _HOUSE.subn(
            lambda m: _STAR * 2 + m.group(0)[-1] if m.group(0)[-1] in "号栋室房" else _STAR * 2, out
        )
        if n:
            found.append("house_number")
    return _mask_names(out, found)


def _mask_numbers(sentence: str, found: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        written = match.group(0)
        compact = re.sub(r"[\s\-–—.·]", "", written)
        if _DATE.match(written.strip()) or _UNIT_AFTER.match(sentence[match.end() :]):
            return written
        if compact.isdigit() and len(compact) < 7:
            return written  # counts and amounts (12345 热线, 150000 元 without a unit is 6 digits)
        found.append("number")
        return _STAR * 3

    return _NUMBER_RUN.sub(replace, sentence)


def _given_name_end(text: str, start: int, limit: int = 2) -> int:
    """Where a given name starting at `start` ends: up to `limit` characters that can be in a name."""
    end = start
    while (
        end < len(text)
        and end - start < limit
        and _is_han(text[end])
        and text[end] not in _NOT_IN_NAME
        and not text.startswith(_TITLES, end)
    ):
        end += 1
    return end


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _surname_at(text: str, index: int) -> int:
    """The length of the surname starting at `index` (2 for a compound one), or 0."""
    for compound in _COMPOUND_SURNAMES:
        if text.startswith(compound, index):
            return 2
    return 1 if index < len(text) and text[index] in _SINGLE_SURNAMES else 0


def _mask_names(sentence: str, found: list[str]) -> str:
    chars = list(sentence)
    masked = [False] * len(chars)

    def mask(start: int, end: int) -> None:
        for i in range(start, end):
            if not masked[i]:
                chars[i] = _STAR
                masked[i] = True

    # 1. After an introducer or a kin word: 联系人：王小明, 我叫陈志明, 儿子李浩.
    for intro in _INTRODUCERS:
        for m in re.finditer(re.escape(intro) + r"\s*[:：是为叫]?\s*", sentence):
            pos = m.end()
            surname = _surname_at(sentence, pos)
            if surname and not _is_place_or_word(sentence, pos, surname, in_context=True):
                end = _given_name_end(sentence, pos + surname)
                if end > pos + surname:
                    mask(pos + surname, end)
                    found.append("name")
    # 2. Before a title: 黄志强先生, 欧阳春花女士, 陈伯 (the surname alone stays: 黄先生 names nobody).
    for title in sorted(_TITLES, key=len, reverse=True):
        for m in re.finditer(re.escape(title), sentence):
            for surname_len, given_len in ((2, 2), (2, 1), (1, 2), (1, 1)):
                s = m.start() - given_len - surname_len
                if s < 0 or _surname_at(sentence, s) != surname_len:
                    continue
                given = sentence[s + surname_len : m.start()]
                if sentence.startswith(_TITLES, s + surname_len):
                    continue
                if all(_is_han(c) and c not in _NOT_IN_NAME for c in given) and not _is_place_or_word(
                    sentence, s, surname_len, in_context=True
                ):
                    mask(s + surname_len, m.start())
                    found.append("name")
                    break
    # 3. 老王, 小李, 阿强: a familiar form is as good as a name to neighbours, unless the two
    # characters begin or continue a longer word (村小, 阿尔茨海默症, 小李子树).
    spans = _token_spans(sentence)
    for m in re.finditer(r"(老|小|阿)([\u4e00-\u9fff])", sentence):
        prefix, char = m.group(1), m.group(2)
        # 阿姨, 阿婆, 阿嫲 are how anyone is addressed, not names.
        generic = "姨婆公伯叔妈爸哥姐嫂妹弟爷奶嫲嬷婶爹娘"
        familiar = (
            char in _SINGLE_SURNAMES
            if prefix in "老小"
            else (char not in _NOT_IN_NAME and char not in generic)
        )
        inside_longer = any(a <= m.start() < b and (b - a > 2 or a < m.start()) for a, b in spans)
        if familiar and not inside_longer and not _common_word(prefix + char, very=True):
            mask(m.start(2), m.end(2))
            found.append("name")
    return "".join(chars)


def _uncertain_name(sentence: str) -> bool:
    """Whether a sentence still holds what may be a bare name.

    A compound surname followed by a given name, or a word that jieba reads as one token made of a
    common surname and one or two more characters, which is neither a common word nor a known place
    (so 天王 in 今天王小明 does not hide the name, and 钱买米, 白血病, 胡思乱想 are not names).
    """
    spans = _token_spans(sentence)
    for start, end_token in spans:
        surname = _surname_at(sentence, start)
        if not surname or _STAR in sentence[start:end_token]:
            continue
        end = _given_name_end(sentence, start + surname)
        if end == start + surname or _is_place_or_word(sentence, start, surname):
            continue
        token = sentence[start:end_token]
        if surname == 2 or (2 <= len(token) <= 3 and not _common_word(token)):
            return True
        if len(token) == 1 and _loose_given_name(sentence, end_token, spans):
            return True  # jieba split 林/美玲, 谢/海燕: a surname on its own, then a given name
    return False


def _loose_given_name(sentence: str, start: int, spans: list[tuple[int, int]]) -> bool:
    following = next((b for a, b in spans if a == start), None)
    if following is None:
        return False
    token = sentence[start:following]
    if len(token) != 2 or not all(_is_han(c) and c not in _NOT_IN_NAME for c in token):
        return False
    freq, tag = _dictionary()
    return tag.get(token) in _NAME_TAGS or (freq.get(token) or 0) < 1000


def _token_spans(sentence: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for token in _segment(sentence):
        spans.append((pos, pos + len(token)))
        pos += len(token)
    return spans


def _segment(sentence: str) -> list[str]:
    import jieba

    _dictionary()  # initialised quietly
    return list(jieba.lcut(sentence, HMM=True))


def _is_place_or_word(sentence: str, start: int, surname: int, *, in_context: bool = False) -> bool:
    """The characters from `start` form a place name or a common word rather than a name.

    ``in_context``: an introducer or a title already says a person follows, so only a place or a
    very common word (马上, 方面) clears it.
    """
    window = sentence[start : start + 6]
    for place in _place_names():
        if window.startswith(place):
            return True
    for length in range(surname + 1, surname + 3):
        piece = sentence[start : start + length]
        if len(piece) == length and _common_word(piece, very=in_context):
            return True
    end = _given_name_end(sentence, start + surname)
    tail = sentence[end : end + 1]
    return bool(tail) and tail in _PLACE_SUFFIXES


def _common_word(piece: str, *, very: bool = False) -> bool:
    """A word of jieba's dictionary that is not a name: frequent enough to be ordinary language.

    ``very`` (after an introducer or before a title, where a person is expected): any ordinary
    word not tagged as a name, or a very frequent one.
    """
    if len(piece) < 2:
        return False
    freq, tag = _dictionary()
    count = freq.get(piece) or 0
    if count <= 0:
        return False
    is_name = tag.get(piece) in _NAME_TAGS
    if very:
        return count >= 2000 or (not is_name and count >= 20)
    # jieba tags some everyday words as names (张贴, 孙子, 叶子); a resident's name is rarely in
    # its dictionary at all, so a frequent one is taken for a word.
    return count >= 100 if is_name else count >= 20


@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, int], dict[str, str]]:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.ERROR)
    jieba.initialize()
    return jieba.dt.FREQ, jieba.posseg.dt.word_tag_tab


@lru_cache(maxsize=1)
def _place_names() -> tuple[str, ...]:
    from services.common.reference import load_reference

    ref = load_reference()
    names: set[str] = set()
    for town in ref.towns:
        names.update({town.name, town.full_name})
    for village in ref.villages:
        names.add(village.name)
        base = village.name.removesuffix("社区").removesuffix("村")
        if len(base) >= 2:
            names.add(base)
    return tuple(sorted(names, key=len, reverse=True))
