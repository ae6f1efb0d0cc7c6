"""Opaque keyset cursors: what one list hands out, only that list takes back (pure)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.common.cursor import InvalidCursor, decode_cursor, encode_cursor

KEY = ["2026-12-18T08:00:00+00:00", "2026-12-06T01:02:03+00:00", "3f1c0d7e-8a2b-4c5d-9e6f-7a8b9c0d1e2f"]


def test_a_cursor_round_trips_and_reads_as_nothing() -> None:
    cursor = encode_cursor("staff.appeals", KEY)
    assert decode_cursor("staff.appeals", cursor, 3) == KEY
    assert "2026" not in cursor and "{" not in cursor
    assert decode_cursor("staff.appeals", encode_cursor("staff.appeals", [None, "x", "y"]), 3) == [
        None,
        "x",
        "y",
    ]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # edited
        lambda c: c[:10],  # truncated
        lambda c: "",  # empty
        lambda c: "!!!not base64!!!",
        lambda c: encode_cursor("staff.notifications", KEY),  # another list's
        lambda c: encode_cursor("staff.appeals", KEY[:2]),  # the wrong shape
    ],
)
def test_anything_else_is_an_invalid_cursor(mangle: Callable[[str], str]) -> None:
    with pytest.raises(InvalidCursor) as raised:
        decode_cursor("staff.appeals", mangle(encode_cursor("staff.appeals", KEY)), 3)
    assert (raised.value.status, raised.value.code) == (422, "invalid_cursor")
