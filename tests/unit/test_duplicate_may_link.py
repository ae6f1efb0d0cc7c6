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
