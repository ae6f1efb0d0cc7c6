"""The appeal's lifecycle as a pure state machine (DESIGN §4): legal moves, terminal states, holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.service.lifecycle import (
    DESCRIPTIONS,
    HOLDABLE,
    STATUSES,
    TERMINAL,
    Status,
    allowed_moves,
    can_move,
    is_terminal,
)

# Every arrow of the DESIGN §4 diagram.
MAIN_PATH: list[tuple[Status, Status]] = [
    ("received", "triaged"),
    ("triaged", "consulting"),  # micro-projects are consulted on first
    ("consulting", "approved"),
    ("triaged", "approved"),  # everything else goes straight to a plan
    ("approved", "in_progress"),
    ("in_progress", "completed"),
    ("completed", "closed"),
    ("completed", "reopened"),  # the resident is not satisfied
    ("reopened", "in_progress"),  # and the work is redone
]
# Side states: a send-back (退单) goes back to triage; rejection, merging and withdrawal end it.
SIDE_MOVES: list[tuple[Status, Status]] = [
    ("approved", "returned"),
    ("in_progress", "returned"),
    ("returned", "triaged"),
    ("received", "rejected"),
    ("triaged", "rejected"),
    ("received", "merged"),
    ("triaged", "merged"),
    ("received", "withdrawn"),
    ("in_progress", "withdrawn"),
]
ILLEGAL_MOVES: list[tuple[Status, Status]] = [
    ("received", "completed"),
    ("received", "in_progress"),
    ("received", "approved"),
    ("received", "consulting"),
    ("received", "closed"),
    ("triaged", "in_progress"),
    ("triaged", "completed"),
    ("consulting", "in_progress"),
    ("consulting", "completed"),
    ("approved", "completed"),
    ("approved", "consulting"),
    ("in_progress", "closed"),
    ("in_progress", "approved"),
    ("completed", "in_progress"),
    ("completed", "received"),
    ("reopened", "completed"),
    ("reopened", "closed"),
    ("returned", "in_progress"),
    ("returned", "approved"),
    ("closed", "reopened"),
    ("closed", "in_progress"),
    ("rejected", "received"),
    ("merged", "received"),
    ("withdrawn", "received"),
    ("received", "received"),
    ("on_hold", "on_hold"),
    ("on_hold", "completed"),
]
NON_TERMINAL: list[Status] = [s for s in STATUSES if s not in TERMINAL]


def test_statuses_are_the_designs() -> None:
    assert set(STATUSES) == {
        "received",
        "triaged",
        "consulting",
        "approved",
        "in_progress",
        "completed",
        "reopened",
        "closed",
        "on_hold",
        "returned",
        "rejected",
        "merged",
        "withdrawn",
    }
    assert set(TERMINAL) == {"closed", "rejected", "merged", "withdrawn"}
    # Every state has a Chinese description for the public timeline.
    assert set(DESCRIPTIONS) == set(STATUSES)
    assert all(DESCRIPTIONS[s] for s in STATUSES)


@pytest.mark.parametrize(("current", "target"), MAIN_PATH + SIDE_MOVES)
def test_every_move_of_the_diagram_is_allowed(current: Status, target: Status) -> None:
    assert can_move(current, target)
    assert target in allowed_moves(current)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_each_terminal_state_can_be_reached(terminal: Status) -> None:
    assert any(can_move(s, terminal) for s in NON_TERMINAL)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_allow_nothing(terminal: Status) -> None:
    assert is_terminal(terminal)
    assert allowed_moves(terminal) == frozenset()
    for target in STATUSES:
        for held_from in (None, *STATUSES):
            assert not can_move(terminal, target, held_from), (terminal, target, held_from)


@pytest.mark.parametrize("status", NON_TERMINAL)
def test_non_terminal_states_can_move_on(status: Status) -> None:
    assert not is_terminal(status)
    assert allowed_moves(status)


@pytest.mark.parametrize(("current", "target"), ILLEGAL_MOVES)
def test_illegal_moves_are_refused(current: Status, target: Status) -> None:
    assert not can_move(current, target)
    # Not even with a held_from that happens to name the target.
    assert not can_move(current, target, held_from=target)


@pytest.mark.parametrize("held", sorted(HOLDABLE))
def test_resume_goes_back_only_to_where_it_was_held(held: Status) -> None:
    assert can_move(held, "on_hold")
    assert can_move("on_hold", held, held_from=held)
    for other in STATUSES:
        if other not in (held, "withdrawn"):
            assert not can_move("on_hold", other, held_from=held), (held, other)
    # Without knowing where it was held, nothing resumes.
    assert not can_move("on_hold", held, held_from=None)


def test_a_held_appeal_can_always_be_withdrawn() -> None:
    assert can_move("on_hold", "withdrawn", held_from=None)
    for held in HOLDABLE:
        assert can_move("on_hold", "withdrawn", held_from=held)


@pytest.mark.parametrize("status", ["completed", "returned", "on_hold", *sorted(TERMINAL)])
def test_states_that_cannot_be_held(status: Status) -> None:
    assert not can_move(status, "on_hold")


def test_can_move_agrees_with_allowed_moves() -> None:
    for current in STATUSES:
        for target in STATUSES:
            if current == "on_hold":
                assert can_move(current, target, held_from=target) == (target in allowed_moves(current))
            else:
                assert can_move(current, target) == (target in allowed_moves(current))


# --- random walks --------------------------------------------------------------------------------

ENTRIES_TO_WORK: frozenset[Status] = frozenset({"approved", "reopened"})


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_walks_respect_the_lifecycle(data: st.DataObject) -> None:
    """Walk with can_move as the only guard, tracking held_from as intake.service.transition does."""
    current: Status = "received"
    held_from: Status | None = None
    path: list[Status] = [current]
    for _ in range(data.draw(st.integers(min_value=1, max_value=80), label="steps")):
        onward: list[Status] = sorted(s for s in allowed_moves(current) if not is_terminal(s))
        # Mostly a move that keeps the appeal alive (so walks go deep), sometimes anything at all.
        wander: bool = data.draw(st.integers(min_value=0, max_value=9), label="wander") == 0
        choices: list[Status] = list(STATUSES) if wander or not onward else onward
        target = data.draw(st.sampled_from(choices), label="target")
        if is_terminal(current):
            assert not can_move(current, target, held_from)
            continue
        if not can_move(current, target, held_from):
            continue
        if target == "in_progress":
            # Work starts only from a plan (approved), a reopening, or resuming held work.
            assert current in ENTRIES_TO_WORK or (current == "on_hold" and held_from == "in_progress"), path
            assert ENTRIES_TO_WORK & set(path), path
        if current == "on_hold" and target != "withdrawn":
            assert target == held_from
        held_from = current if target == "on_hold" else None
        current = target
        path.append(current)
    # Once terminal, forever terminal: nothing after the first terminal state in the path.
    terminal_at = [i for i, s in enumerate(path) if is_terminal(s)]
    assert not terminal_at or terminal_at[0] == len(path) - 1, path


def test_in_progress_only_from_a_plan_or_a_reopening() -> None:
    """Exhaustively, over every (current, target, held_from)."""
    for current in STATUSES:
        for held_from in (None, *STATUSES):
            if can_move(current, "in_progress", held_from):
                assert current in ENTRIES_TO_WORK or (current == "on_hold" and held_from == "in_progress")
