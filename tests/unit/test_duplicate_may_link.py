"""Which pairs may be merged without a person (`scorer.may_link`), whatever their score: never one
phone's two appeals, never two different needs of one family; two accounts of one need may."""

from __future__ import annotations

from intake.service.duplicates import scorer
from intake.service.duplicates.similarity import Doc, analyse

TOWN, VILLAGE = "441900121000", "441900121001"


def _doc(text: str) -> Doc:
    return analyse(None, text, None, town_code=TOWN, village_code=VILLAGE)


WHEELCHAIR = _doc("陈伯八十二岁，中风后腿脚不便，家里买不起轮椅，想申请一台轮椅")
WHEELCHAIR_AGAIN = _doc("村里陈伯中风行动不便，家属反映需要轮椅，请帮忙申请")
CARE = _doc("陈伯八十二岁一个人住，白天没人照看，家属想问能不能送去日间照料")
STREET_LIGHT = _doc("东方路路灯坏了好几盏，晚上很黑")
STREET_LIGHT_AGAIN = _doc("东方路那几盏街灯不亮了")


def test_one_familys_other_need_is_never_merged() -> None:
    feats = scorer.features(WHEELCHAIR, CARE)
    assert feats["personal"] and feats["obj_share"] < 1.0
    assert not scorer.may_link(feats)


def test_the_same_need_told_twice_may_be_merged() -> None:
    feats = scorer.features(WHEELCHAIR, WHEELCHAIR_AGAIN)
    assert feats["personal"] and feats["obj_share"] == 1.0
    assert scorer.may_link(feats)
    assert scorer.may_link(scorer.features(STREET_LIGHT, STREET_LIGHT_AGAIN))


def test_one_phone_is_never_merged_even_about_the_same_thing() -> None:
    assert not scorer.may_link(scorer.features(STREET_LIGHT, STREET_LIGHT_AGAIN, same_person=True))


# Written for these tests (not taken from any pair file): the same kind of problem, told apart by
# a detail both give.
LEAK_602 = _doc("桑园新村7栋602卫生间天花板渗水，楼上不配合检修")
LEAK_402 = _doc("桑园新村7栋402厨房天花一直滴水，物业不管")
LEAK_602_AGAIN = _doc("7栋602室天花渗水好多天了，请社区协调楼上维修")
WAGES_A = _doc("厦边社区一家五金制品厂拖欠员工两个月工资")
WAGES_B = _doc("厦边社区某塑胶制品有限公司拖欠工人工资，老板失联")
WAGES_A_AGAIN = _doc("五金厂老板拖欠我们工资，厦边社区的")
SIGNAL_A = _doc("厚街大道与康乐南路交叉口红绿灯不亮")
SIGNAL_B = _doc("厚街大道与双岗路路口信号灯坏了")
SIGNAL_A_AGAIN = _doc("康乐南路和厚街大道路口信号灯一直黑着")
STAIR_1 = _doc("桑园新村6栋1单元楼道灯全坏了，晚上上楼看不见")
STAIR_2 = _doc("桑园新村6栋2单元楼道的灯坏了，黑漆漆的")
LEAK_OTHER = _doc("桑园新村7栋天花渗水，与602那户不是同一户，是另一家")


def test_another_flat_entrance_employer_or_junction_or_matter_said_is_never_merged_on_its_own() -> None:
    for a, b, name in (
        (LEAK_602, LEAK_402, "unit_other"),
        (WAGES_A, WAGES_B, "employer_other"),
        (SIGNAL_A, SIGNAL_B, "junction_other"),
        (STAIR_1, STAIR_2, "unit_other"),
        (LEAK_602, LEAK_OTHER, "said_other"),
    ):
        feats = scorer.features(a, b)
        assert feats[name] == 1.0, name
        assert not scorer.may_link(feats), name


def test_the_same_flat_employer_or_junction_told_again_may_be_merged() -> None:
    for a, b in ((LEAK_602, LEAK_602_AGAIN), (WAGES_A, WAGES_A_AGAIN), (SIGNAL_A, SIGNAL_A_AGAIN)):
        feats = scorer.features(a, b)
        assert not any(feats[name] for name in scorer.TOLD_APART), feats
        assert scorer.may_link(feats)
