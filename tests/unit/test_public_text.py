"""The public-text filter: no name or number of a person survives, ordinary text does."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from services.common.public_text import WITHHELD, public_text, scrub_public_text

NAMES = [
    "王小明",
    "黄志强",
    "林美玲",
    "欧阳春花",
    "赵丽华",
    "陈志明",
    "李建国",
    "张秀英",
    "刘德芳",
    "梁永康",
    "何润娣",
    "冼少珍",
    "司徒国华",
    "叶伟",
    "罗小燕",
    "麦锦荣",
    "钟家豪",
    "邓丽",
    "谢海燕",
    "吴桂芬",
]
TEMPLATES = [
    "联系人{n}，请尽快回复。",
    "联系人：{n}。",
    "我叫{n}，住在这里十年了。",
    "我是{n}，反映一下情况。",
    "{n}先生反映路灯不亮。",
    "{n}女士家里的屋顶漏水。",
    "户主{n}今年七十岁。",
    "她儿子{n}在外地打工。",
    "{n}说村里的垃圾没人清理。",
    "村民{n}反映排水沟堵了。",
    "请{n}阿姨明天来社区。",
    "{n}，男，68岁，独居。",
    "今天{n}又来问进度了。",
]
PHONES = [
    "13823456792",
    "138 2345 6792",
    "138-2345-6792",
    "+86 138 2345 6792",
    "１３８２３４５６７９２",
    "一三八二三四五六七九二",
    "幺三八二三四五六七九二",
    "幺三八 二三四五 六七九二",
    "138二三四五六七九二",
    "0769-22221234",
    "洞七六九 二二二二 一二三四",
]


def _digits(text: str) -> str:
    table = str.maketrans("零〇一二三四五六七八九幺两洞１２３４５６７８９０", "00123456789120" + "1234567890")
    return re.sub(r"\D", "", text.translate(table))


@pytest.mark.parametrize(("template", "name"), list(itertools.product(TEMPLATES, NAMES)))
def test_no_name_survives(template: str, name: str) -> None:
    out = public_text(template.format(n=name))
    assert name not in out
    # At most the surname stays (黄**先生): no given-name character next to it.
    given = name[2:] if name[:2] in ("欧阳", "司徒") else name[1:]
    assert given not in out


@pytest.mark.parametrize("phone", PHONES)
@pytest.mark.parametrize("lead", ["电话", "手机号是", "有事打", "联系方式：", ""])
def test_no_number_survives(phone: str, lead: str) -> None:
    out = public_text(f"东方路的路灯坏了，{lead}{phone}，谢谢。")
    assert _digits(phone)[-8:] not in _digits(out)
    assert "路灯坏了" in out


def test_fuzz_mixed_sentences_leak_nothing() -> None:
    rng = random.Random(20261206)
    for _ in range(400):
        name, phone, template = rng.choice(NAMES), rng.choice(PHONES), rng.choice(TEMPLATES)
        text = (
            template.format(n=name)
            + rng.choice(["电话", "微信号：", "打", ""])
            + phone
            + "。"
            + "下水道堵了。"
        )
        out = public_text(text)
        assert name not in out, (text, out)
        assert _digits(phone)[-8:] not in _digits(out), (text, out)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("加我微信wxid_k2j3h4g5，晚上回复。", "wxid_k2j3h4g5"),
        ("微信号：gz_chen1988", "gz_chen1988"),
        ("VX: abc_12345", "abc_12345"),
        ("QQ号 345678901", "345678901"),
        ("扣扣：88776655", "88776655"),
        ("发到chenming@163.com", "chenming@163.com"),
        ("粤S·8A123的车天天占消防通道", "8A123"),
        ("粤SD12345新能源车", "D12345"),
        ("身份证号441900199001011234", "441900199001011234"),
        ("身份证 441900 19900101 123X", "123X"),
    ],
)
def test_ids_plates_and_mail_are_masked(text: str, secret: str) -> None:
    assert secret not in public_text(text)


def test_house_numbers_only_when_asked() -> None:
    text = "住在新村三巷12号，屋顶漏水。"
    assert "12号" in public_text(text)
    assert "12号" not in public_text(text, house_numbers=True)
    assert "3栋502" not in public_text("住3栋502房", house_numbers=True)


@pytest.mark.parametrize(
    "text",
    [
        "东方路的路灯坏了好几盏，晚上黑漆漆的。",
        "黄江镇长龙村的排水沟堵了，下雨就水浸。",
        "常平镇板石社区市场后面的垃圾堆了好几天。",
        "张贴告示后周边居民高度关注。",
        "马上要下雨了，方便的话请尽快来修。",
        "12345热线已经反映过三次了。",
        "申请金额15000元，用于修缮屋顶。",
        "2026年12月6日巡查发现井盖缺失。",
        "小区门口的井盖不见了，何时能修好？",
        "老人家没人照顾，阿姨说很担心。",
        "万江街道的健身器材坏了。",
        "石龙镇的河涌发黑发臭。",
        "希望在村里建一个长者饭堂。",
    ],
)
def test_ordinary_text_passes_unchanged(text: str) -> None:
    assert public_text(text) == text


def test_an_unplaceable_bare_name_withholds_its_sentence_only() -> None:
    result = scrub_public_text("欧阳春花说垃圾没人清理。村口的路灯也坏了。")
    assert "欧阳春花" not in result.text
    assert result.text == WITHHELD + "村口的路灯也坏了。"
    assert result.withheld == 1
    assert "possible_name" in result.found


def test_empty_and_none() -> None:
    assert public_text(None) == ""
    assert public_text("") == ""
