"""The details that tell look-alikes apart (`similarity.specifics`): pure functions on text."""

from __future__ import annotations

import pytest

from intake.service.duplicates.similarity import specifics


@pytest.mark.parametrize(
    ("text", "flats"),
    [
        ("7栋602卫生间漏水", {"602"}),
        ("3座 1201 房门口", {"1201"}),
        ("住在1203房的阿婆", {"1203"}),
        ("5幢302室和402室都渗水", {"302", "402"}),
        ("7栋楼下的路灯", set()),  # a block without a flat
        ("2026年10月", set()),  # dates are no flats
        ("拖欠40名员工工资", set()),
    ],
)
def test_flats(text: str, flats: set[str]) -> None:
    assert specifics.units(text) == flats


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("一家五金制品厂拖欠工资", {"五金"}),
        ("某塑胶制品有限公司停产", {"塑胶"}),
        ("立信电子厂老板跑路", {"立信电子"}),
        ("这家厂欠薪", set()),  # unnamed
        ("东莞市华美实业有限公司", {"华美"}),
        ("那个金丰鞋厂十月工资没发，员工聚集厂门口", {"金丰鞋"}),  # 厂门口: the one named, not a name
        ("【附件】厂门口照片2张", set()),
        ("我们厂里好多人，厂方不出面", set()),
        # One called in to act (会同环卫公司, 联系水务公司), not the matter's works.
        ("已收到，会同环卫公司协商作业时间", set()),
        ("处理意见：联系水务公司检测管网压力", set()),
        ("员工集体上访，反映公司停产后拖欠工资", set()),
    ],
)
def test_employers(text: str, names: set[str]) -> None:
    assert specifics.employers(text) == names


def test_employers_related_by_name_are_one() -> None:
    assert not specifics.other_employers("立信电子厂老板跑路", "立信厂拖欠工资")
    assert specifics.other_employers("五金制品厂拖欠", "塑胶制品有限公司拖欠")
    assert not specifics.other_employers("五金厂拖欠", "工人被拖欠工资")  # one side names none


def test_works_of_one_park_told_apart_by_name_not_by_what_they_make() -> None:
    # Two furniture works of one industrial park: the names differ, what they make does not.
    assert specifics.other_employers(
        "双岗工业区华美家具厂拖欠工资，家具厂工人代表5人", "东莞市雅居家具有限公司38名员工"
    )
    # One works named, the other only by what it makes: the same works may be meant, or not.
    assert not specifics.other_employers("华美家具厂拖欠工资", "家具厂工人说老板跑了")
    assert specifics.other_employers("华美家具厂拖欠工资", "五金厂工人说老板跑了")
    # The hardware works at the end of the village (村尾嗰间) is not a name.
    assert not specifics.other_employers("村尾嗰间五金厂半夜开机", "某恒丰五金制品厂夜间噪声")


def test_another_junction_of_one_road() -> None:
    assert specifics.other_junction(frozenset({"厚街大道", "康乐南路"}), frozenset({"厚街大道", "双岗路"}))
    # One junction named both ways, or one side naming only the road: no conflict.
    assert not specifics.other_junction(frozenset({"鸿福路", "元美路"}), frozenset({"元美路", "鸿福路"}))
    assert not specifics.other_junction(frozenset({"厚街大道", "康乐南路"}), frozenset({"厚街大道"}))
    # Two roads with nothing in common: another place, not another junction (the place features' work).
    assert not specifics.other_junction(frozenset({"东城大道"}), frozenset({"鸿福路"}))
    # A kind of road names no road: 行人路 is Cantonese for the pavement.
    assert not specifics.other_junction(frozenset({"行人路", "鸿福路"}), frozenset({"鸿福路", "元美路"}))
    # Nor what a street is made of or how old it is (石板路, 老街).
    assert not specifics.other_junction(frozenset({"老街", "牙香街"}), frozenset({"石板路", "牙香街"}))
    # Places that are not roads do not count.
    assert not specifics.other_junction(
        frozenset({"厚街大道", "人民公园"}), frozenset({"厚街大道", "中心市场"})
    )


@pytest.mark.parametrize(
    ("text", "block", "floor"),
    [
        ("A座3楼楼道灯坏了", {"A"}, {3}),
        ("b座三楼", {"B"}, {3}),
        ("7栋602", {"7"}, set()),
        ("十二层走廊", set(), {12}),
        ("楼道灯和楼顶水箱", set(), set()),  # 楼道 and 楼顶 are no floors
        ("5栋楼下", {"5"}, set()),
        # How tall a building is, and a range of floors, are no floor.
        ("兴塘路北侧3层旧楼，约24户", set(), set()),
        ("新村片三楼以上住户水压不足", set(), set()),
        ("住4楼，水龙头得滴水", set(), {4}),
    ],
)
def test_blocks_and_floors(text: str, block: set[str], floor: set[int]) -> None:
    assert specifics.blocks(text) == block
    assert specifics.floors(text) == floor


def test_another_home_of_the_same_estate() -> None:
    assert specifics.other_units("7栋602卫生间渗水", "7栋402厨房滴水")
    assert specifics.other_units("A座3楼楼道灯坏", "B座三楼楼道灯不亮")
    assert specifics.other_units("出租屋2楼的单亲妈妈", "出租屋4楼的失业工友")
    # The same home told two ways: block 7 either way, a flat on one side and its floor on the other.
    assert not specifics.other_units("7栋602漏水", "7座6楼漏水")
    assert not specifics.other_units("3楼楼道灯坏", "三楼走廊的灯不亮")


def test_a_flat_after_a_house_number_and_not_a_post_number() -> None:
    assert specifics.units("新村路8号201租户") == {"201"}
    assert specifics.units("编号1203的灯杆") == frozenset()


def test_another_entrance_of_one_block() -> None:
    assert specifics.entrances("6栋1单元3至5楼消防栓箱") == {1}
    assert specifics.entrances("二单元楼道") == {2}
    assert specifics.other_units("6栋1单元楼道灯坏了", "6栋2单元的楼道灯也不亮")
    assert not specifics.other_units("6栋1单元楼道灯坏了", "六栋一单元楼梯灯黑了")


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("万道路北往南方向辅道", {"南"}),
        ("往北方向的辅道", {"北"}),
        ("东行车道有坑", {"东"}),
        ("往东莞方向", set()),  # a city, not a heading
        ("路口南侧人行道", set()),
    ],
)
def test_headings(text: str, heading: set[str]) -> None:
    assert specifics.headings(text) == heading


def test_the_two_sides_of_one_road() -> None:
    assert specifics.other_side("北往南方向辅道井盖缺失", "南往北方向的辅道井盖不见了")
    assert not specifics.other_side("北往南方向辅道井盖缺失", "往南方向辅道有个井盖没了")
    assert not specifics.other_side("北往南方向辅道井盖缺失", "辅道上井盖不见了")  # one side says none


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("此陈伯名陈耀祖，与12栋陈伯非同一人", True),
        ("同五金厂唔系同一间", True),
        ("送餐已经有人送紧，呢次系另外一件事", True),
        ("这次不是上次反映的那个井盖", True),
        ("跟上次反映的是同一个问题，还没修好", False),
        ("不是同一天坏的，但都在这条路上", False),  # a day is no matter or person
        ("另外，楼下的垃圾也没人清", False),
    ],
)
def test_a_writer_saying_it_is_another_matter(text: str, other: bool) -> None:
    assert specifics.says_other(text) is other


@pytest.mark.parametrize(
    ("a", "b", "other"),
    [
        ("丈夫心梗住院放了支架，要几万", "妻子乳腺癌化疗，每个月几千", True),
        ("心肌梗塞住院", "心梗放支架", False),  # one illness told two ways
        ("中风后偏瘫在家", "脑梗住院", False),
        ("癌症晚期，医药费", "肝癌靶向药", False),  # 癌症 names none in particular
        ("重病住院", "白血病化疗", False),
        ("儿子尿毒症透析", "孙女白血病", True),
    ],
)
def test_two_patients_by_their_illnesses(a: str, b: str, other: bool) -> None:
    assert specifics.other_illness(a, b) is other


@pytest.mark.parametrize(
    ("a", "b", "other"),
    [
        ("北栅社区男孩，智力障碍，想读特殊教育学校", "女儿智力障碍，问特殊教育学位", True),
        ("孙子读初二", "孙子成绩下滑", False),
        ("儿子和女儿都在读书", "女儿要交学费", False),  # children of both sexes: which one is meant?
        ("家里困难，学费交不起", "女儿考上大学", False),
    ],
)
def test_a_boy_and_a_girl_are_two_children(a: str, b: str, other: bool) -> None:
    assert specifics.other_child(a, b) is other


@pytest.mark.parametrize(
    ("a", "b", "other"),
    [
        ("坑美市场东门排水沟堵塞", "坑美市场西门排水沟反水", True),
        ("蛤地旧村东片巷道硬底化", "西片另一组巷道硬底化", True),
        ("公园东门口路灯不亮", "公园东门路灯坏", False),
        ("东门路路灯不亮", "西门社区路灯", False),  # names, not gates
        ("东北门", "北门", False),  # a gate given by either of its points
    ],
)
def test_another_gate_or_section_of_one_place(a: str, b: str, other: bool) -> None:
    assert specifics.other_gate(a, b) is other


def test_told_apart_names_the_features_it_sets() -> None:
    none: frozenset[str] = frozenset()
    examples = {
        ("6栋1单元", "6栋2单元"): {"unit_other"},
        ("北往南方向", "南往北方向"): {"junction_other"},
        ("市场东门", "市场西门"): {"junction_other"},
        ("路灯坏了", "与上面那盏非同一盏，另一盏"): {"said_other"},
        ("华美家具厂欠薪", "雅居家具厂欠薪"): {"employer_other"},
        ("丈夫心梗", "妻子乳腺癌"): {"illness_other"},
        ("男孩", "女孩"): {"child_other"},
        ("路灯坏了", "路灯不亮"): set(),
    }
    for (a, b), told in examples.items():
        assert specifics.told_apart(a, b, none, none) == told, (a, b)
    # Every detail the scorer reads as a rule is one `told_apart` can find.
    assert set().union(*examples.values()) == set(specifics.DETAILS)
