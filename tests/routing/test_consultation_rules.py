"""Quorum and majority of community consultations, as the organic laws set them (pure)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.service.consultation_rules import (
    DEFAULT_BODY,
    FORM_NAMES,
    POINTS,
    Attendance,
    Vote,
    decide,
    more_than_half,
    passes,
    quorum_met,
    two_thirds_or_more,
)

ALL_YES = {p: Vote(yes=1, no=0) for p in POINTS}


def _votes(yes: int, no: int = 0, abstain: int = 0, **override: Vote) -> dict[str, Vote]:
    return {p: override.get(p, Vote(yes, no, abstain)) for p in POINTS}


# --- the two thresholds, exhaustively on small numbers and against exact fractions ----------------


def test_more_than_half_excludes_half_itself() -> None:
    for whole in range(0, 60):
        for part in range(0, whole + 1):
            assert more_than_half(part, whole) == (whole > 0 and Fraction(part, whole) > Fraction(1, 2))


def test_two_thirds_or_more_includes_two_thirds() -> None:
    for whole in range(0, 60):
        for part in range(0, whole + 1):
            assert two_thirds_or_more(part, whole) == (whole > 0 and Fraction(part, whole) >= Fraction(2, 3))


@pytest.mark.parametrize(
    ("part", "whole", "half", "two_thirds"),
    [(5, 10, False, False), (6, 10, True, False), (7, 10, True, True), (6, 9, True, True), (5, 9, True, False),
     (2, 3, True, True), (1, 2, False, False), (0, 0, False, False), (1, 1, True, True)],
)  # fmt: skip
def test_boundaries(part: int, whole: int, half: bool, two_thirds: bool) -> None:
    assert more_than_half(part, whole) is half
    assert two_thirds_or_more(part, whole) is two_thirds


# --- quorum ------------------------------------------------------------------------------------------


def test_an_assembly_meets_with_more_than_half_of_the_eligible() -> None:
    assert not quorum_met("assembly", Attendance(eligible=100, present=50))
    assert quorum_met("assembly", Attendance(eligible=100, present=51))
    assert quorum_met("assembly", Attendance(eligible=101, present=51))
    assert not quorum_met("assembly", Attendance(eligible=101, present=50))


def test_an_assembly_also_meets_with_two_thirds_of_the_households() -> None:
    # Only 40 of 100 residents, but 20 of 30 households (exactly two-thirds) are represented.
    assert quorum_met(
        "assembly", Attendance(eligible=100, present=40, households_total=30, households_present=20)
    )
    assert not quorum_met(
        "assembly", Attendance(eligible=100, present=40, households_total=30, households_present=19)
    )


def test_a_representatives_meeting_needs_two_thirds_of_its_members() -> None:
    assert quorum_met("representatives", Attendance(eligible=30, present=20))
    assert not quorum_met("representatives", Attendance(eligible=30, present=19))
    # Households do not count for a representatives' meeting.
    assert not quorum_met(
        "representatives", Attendance(eligible=30, present=19, households_total=10, households_present=10)
    )


def test_quorum_exhaustively() -> None:
    for eligible in range(1, 40):
        for present in range(0, eligible + 1):
            a = Attendance(eligible, present)
            assert quorum_met("assembly", a) == (2 * present > eligible)
            assert quorum_met("representatives", a) == (3 * present >= 2 * eligible)
            for total in (1, 2, 3, 7, 9):
                for there in range(0, total + 1):
                    h = Attendance(eligible, present, total, there)
                    assert quorum_met("assembly", h) == (2 * present > eligible or 3 * there >= 2 * total)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"eligible": 10, "present": 11},
        {"eligible": 10, "present": -1},
        {"eligible": 10, "present": 5, "households_total": 4},
        {"eligible": 10, "present": 5, "households_total": 4, "households_present": 5},
    ],
)
def test_impossible_attendance_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Attendance(**kwargs)


# --- majority ----------------------------------------------------------------------------------------


def test_a_decision_needs_more_than_half_of_those_present() -> None:
    assert passes(Vote(yes=6, no=4), present=10)
    assert not passes(Vote(yes=5, no=5), present=10)  # a tie fails
    assert not passes(Vote(yes=5, no=2, abstain=3), present=10)  # abstentions count against
    assert not passes(Vote(yes=5, no=0), present=10)  # silence counts against too
    assert passes(Vote(yes=6, no=0, abstain=4), present=10)


def test_more_votes_than_people_is_refused() -> None:
    with pytest.raises(ValueError):
        passes(Vote(yes=6, no=5), present=10)
    with pytest.raises(ValueError):
        Vote(yes=-1, no=0)


@given(
    present=st.integers(min_value=1, max_value=500),
    yes=st.integers(min_value=0, max_value=500),
    no=st.integers(min_value=0, max_value=500),
)
def test_majority_matches_exact_arithmetic(present: int, yes: int, no: int) -> None:
    if yes + no > present:
        with pytest.raises(ValueError):
            passes(Vote(yes, no), present)
    else:
        assert passes(Vote(yes, no, present - yes - no), present) == (Fraction(yes, present) > Fraction(1, 2))


# --- the five points -------------------------------------------------------------------------------


def test_every_point_must_pass() -> None:
    a = Attendance(eligible=25, present=20)
    assert decide("representatives", a, _votes(11, 9)).passed
    out = decide("representatives", a, _votes(11, 9, budget=Vote(10, 10), implementer=Vote(9, 8, 3)))
    assert (out.quorum, out.passed, out.failed_points) == (True, False, ("budget", "implementer"))
    assert "预算" in (out.reason() or "") and "实施主体" in (out.reason() or "")


def test_without_quorum_nothing_is_decided() -> None:
    out = decide("representatives", Attendance(eligible=30, present=19), _votes(19))
    assert (out.quorum, out.passed, out.failed_points) == (False, False, ())
    assert "法定人数" in (out.reason() or "")


def test_all_five_points_are_required() -> None:
    votes = dict(ALL_YES)
    del votes["feasibility"]
    with pytest.raises(ValueError, match="feasibility"):
        decide("assembly", Attendance(eligible=1, present=1), votes)


def test_every_form_has_a_default_body() -> None:
    assert (
        set(DEFAULT_BODY)
        == set(FORM_NAMES)
        == {"residents_council", "party_masses_joint", "public_hearing", "online"}
    )
    assert set(DEFAULT_BODY.values()) == {"assembly", "representatives"}
