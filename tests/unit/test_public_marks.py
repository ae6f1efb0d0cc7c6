"""The note of a transaction's public-status changes, as the triggers write it (pure)."""

from __future__ import annotations

from intake.service.public_marks import parse_changes


def test_the_newest_revision_of_each_ticket_is_kept() -> None:
    assert parse_changes("MS2026120600001:3,MS2026120600002:1,MS2026120600001:4,") == {
        "MS2026120600001": 4,
        "MS2026120600002": 1,
    }


def test_nothing_noted_is_nothing_to_mark() -> None:
    assert parse_changes(None) == {} == parse_changes("")
    assert parse_changes("broken,:5,MS1:x,") == {}
