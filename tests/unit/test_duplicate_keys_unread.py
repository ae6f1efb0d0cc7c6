"""Retrieval when the lexicon cannot read one side (`lsh`): two accounts of one matter still meet in
their village (or, without a village, in their town), in the coarse tier, and only there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.service.duplicates import lsh
from intake.service.duplicates.similarity import Doc, analyse

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TOWN, VILLAGE, OTHER_VILLAGE = "441900121000", "441900121001", "441900121002"
# Words of no concept the lexicon knows (a shop open late, its trouble left unsaid), and a known
# one (路灯).
UNREAD = "隔壁那间店日日开到好夜"
READ = "东方路路灯坏了好几盏，晚上很黑"


def _doc(text: str, village: str | None = VILLAGE, town: str = TOWN) -> Doc:
    return analyse(None, text, None, town_code=town, village_code=village)


def _stored(doc: Doc) -> set[int]:
    return set(lsh.keys(doc, AT - timedelta(days=2)))


def test_the_sides_are_what_the_tests_say() -> None:
    assert not _doc(UNREAD).families
    assert _doc(READ).families


def test_a_read_arrival_meets_an_unread_appeal_of_its_village_in_the_coarse_tier() -> None:
    fine, coarse = lsh.query_keys(_doc(READ), AT, 30)
    stored = _stored(_doc(UNREAD))
    assert stored & set(coarse)
    assert not stored & set(fine)


def test_an_unread_arrival_meets_any_appeal_of_its_village_in_the_coarse_tier() -> None:
    fine, coarse = lsh.query_keys(_doc(UNREAD), AT, 30)
    stored = _stored(_doc(READ))
    assert stored & set(coarse)
    assert not stored & set(fine)


def test_not_across_villages_and_two_read_appeals_of_other_needs_do_not_meet_by_it() -> None:
    _, coarse = lsh.query_keys(_doc(UNREAD, OTHER_VILLAGE), AT, 30)
    assert not _stored(_doc(READ)) & set(coarse)
    # Two appeals the lexicon reads, of needs of other families, are not brought together by the
    # village alone (their own concepts decide).
    pension = _doc("我妈住院要做手术，医药费还差两万块")
    assert pension.families and not pension.families & _doc(READ).families
    assert not lsh.may_meet(_doc(READ), pension)


def test_without_a_village_a_read_arrival_meets_the_towns_unread_appeals() -> None:
    stored = _stored(_doc(UNREAD, None))
    fine, coarse = lsh.query_keys(_doc(READ, None), AT, 30)
    assert stored & set(coarse)
    assert not stored & set(fine)
    # With a village of its own, the arrival asks its village, not the whole town's unread ones.
    _, village_coarse = lsh.query_keys(_doc(READ, VILLAGE), AT, 30)
    assert not _stored(_doc(UNREAD, OTHER_VILLAGE)) & set(village_coarse)
