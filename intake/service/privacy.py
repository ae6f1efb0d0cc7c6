"""Personal data inside free text (pure): phone and ID numbers, and the reporters' own names.

Phone and ID numbers are masked before an appeal's words are even stored (`intake.service.records`
keeps the full numbers apart, encrypted, revealable through the audited reveal); names are masked
wherever the words leave intake: events for other services, the public disclosure, archives for
auditors. The detector of numbers is `services.common.personal.find_numbers`, shared with the
gateway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from services.common.personal import mask_name, mask_numbers
from services.common.public_text import public_text
from services.common.text import fold_width

# A person named the way appeals name people: 陈阿婆, 李伯, 王女士, 赵某, 阿明.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
PERSON_RE = re.compile(
    rf"([{SURNAMES}])(阿婆|阿姨|阿公|阿伯|伯伯|大伯|大爷|奶奶|爷爷|婆婆|大哥|大姐|大叔|大婶|女士|先生|老师|"
    r"小姐|师傅|某某|某|伯|婶|叔|姐|哥|婆|姨)"
)
# Someone introducing themselves or being introduced by name (我叫陈国强, 来电人梁秀珍): a caller to
# the hotline has no name field, so the name is only ever in the words.
NAMED_RE = re.compile(
    rf"(我叫|我是|本人|来电人|来信人|反映人|姓名[:：]?)([{SURNAMES}][\u4e00-\u9fff]{{1,2}})"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def redact_text(text: str | None, names: Iterable[str | None] = (), *, people: bool = False) -> str | None:
    """The text with ID numbers, phone numbers, e-mail addresses and the given names masked;
    with `people` (text for the public), also anyone named the way appeals name people (陈阿婆 ->
    陈**) and everything `services.common.public_text` finds: names by context and surname,
    numbers in Chinese numerals, WeChat and QQ ids, plates; a sentence it cannot clear is withheld."""
    if text is None:
        return None
    out = mask_numbers(fold_width(text))  # the one detector of phone and ID numbers
    out = _EMAIL_RE.sub("***@***", out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    if people:
        out = NAMED_RE.sub(lambda m: m.group(1) + mask_name(m.group(2)), out)
        out = PERSON_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)), out)
        out = public_text(out)
    return out


def contains_personal(text: str, names: Iterable[str | None] = ()) -> bool:
    """Whether redaction would change the text."""
    return redact_text(text, names) != fold_width(text)
