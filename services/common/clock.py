"""An injected clock for tests on the real system (`guanjia up`), never for production.

Flows that need days to pass (a pledge's expiry, the end of a 公示 notice, a return visit nobody
answered, an overdue or escalated clock) are tested on running processes by moving their clock,
not by waiting. `GUANJIA_CLOCK_FILE` names a file holding a number of seconds; every process
adds it to `utcnow()`, reading the file each time (a few microseconds, only where it is set), so a test advances the time of all
processes at once by rewriting it. Unset, nothing is read. Production refuses it: a process with
`GUANJIA_ENV=production` and the variable set does not start (`refuse_in_production`), and the
offset is zero there whatever the file says.
"""

from __future__ import annotations

import os
from datetime import timedelta

CLOCK_FILE = "GUANJIA_CLOCK_FILE"
_ZERO = timedelta(0)


def _production() -> bool:
    return os.environ.get("GUANJIA_ENV", "development") == "production"


def offset() -> timedelta:
    """How far the injected clock runs ahead of the real one (zero unless a test moved it)."""
    path = os.environ.get(CLOCK_FILE)
    if not path or _production():
        return _ZERO
    try:
        with open(path, encoding="ascii") as f:
            raw = f.read().strip()
    except FileNotFoundError:
        return _ZERO
    # Tests replace the file atomically; an empty one (being created) means no offset yet.
    return timedelta(seconds=float(raw)) if raw else _ZERO


def refuse_in_production() -> None:
    """Stop a production process that was given an injected clock."""
    if os.environ.get(CLOCK_FILE) and _production():
        raise SystemExit(f"{CLOCK_FILE} is for tests only and is refused when GUANJIA_ENV=production")
