"""The work list's projection (issue 16.1): the clocks' events, through intake's real consumer,
keep each appeal's next deadline (earliest running or overdue clock) and overdue flag."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from tests.intake.projection_support import _empty_queue as _empty_queue  # each test on an empty queue
from tests.intake.projection_support import appeal_row, deadline, feed, new_appeal

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def end_of(day: date) -> datetime:
    return datetime.combine(day, datetime.max.time(), tzinfo=UTC).replace(microsecond=0)


async def test_the_earliest_live_clock_is_the_next_deadline() -> None:
    appeal_id, _, _ = await new_appeal()
    assert (await appeal_row(appeal_id)).next_due_at is None
    triage, handling = uuid.uuid4(), uuid.uuid4()
    late, soon = date(2026, 12, 20), date(2026, 12, 3)
    await feed(deadline("deadline.started", appeal_id, handling, T0, clock="handling", due_date=late))
    assert (await appeal_row(appeal_id)).next_due_at == end_of(late)
    await feed(deadline("deadline.started", appeal_id, triage, T0 + timedelta(minutes=1), due_date=soon))
    row = await appeal_row(appeal_id)
    assert (row.next_due_at, row.overdue) == (end_of(soon), False)
    # Paused: its deadline will move, so it is not the next one; resumed, it is again.
    await feed(
        deadline(
            "deadline.paused", appeal_id, triage, T0 + timedelta(minutes=2), state="paused", due_date=soon
        )
    )
    assert (await appeal_row(appeal_id)).next_due_at == end_of(late)
    await feed(deadline("deadline.resumed", appeal_id, triage, T0 + timedelta(minutes=3), due_date=soon))
    assert (await appeal_row(appeal_id)).next_due_at == end_of(soon)
    # Overdue: still the next deadline, and the appeal is overdue.
    await feed(
        deadline(
            "deadline.overdue", appeal_id, triage, T0 + timedelta(days=4), state="overdue", due_date=soon
        )
    )
    row = await appeal_row(appeal_id)
    assert (row.next_due_at, row.overdue) == (end_of(soon), True)
    # Met late: the handling clock is next; nothing is overdue any more.
    met = deadline("deadline.met", appeal_id, triage, T0 + timedelta(days=5), state="met", due_date=soon)
    await feed(met)
    row = await appeal_row(appeal_id)
    assert (row.next_due_at, row.overdue) == (end_of(late), False)
    # A replay, and an older event arriving late, change nothing.
    stale = deadline(
        "deadline.overdue", appeal_id, triage, T0 + timedelta(days=4, hours=1), state="overdue", due_date=soon
    )
    await feed(met, stale)
    row = await appeal_row(appeal_id)
    assert (row.next_due_at, row.overdue) == (end_of(late), False)
    await feed(
        deadline(
            "deadline.stopped",
            appeal_id,
            handling,
            T0 + timedelta(days=6),
            state="stopped",
            clock="handling",
            due_date=late,
        )
    )
    row = await appeal_row(appeal_id)
    assert (row.next_due_at, row.overdue) == (None, False)
