"""Marking changed public statuses in Redis before COMMIT (issue 14.4).

The database notes every change to a public status (triggers of migration c14d0c5a7e11: ticket
and new revision, in the transaction-local setting `guanjia.public_changes`); just before a
transaction that wrote anything commits, this reads the note and marks those tickets changed in
Redis (`services.common.status_documents.mark`), so the gateway stops serving the older document
before the change is visible anywhere. Whichever code path made the change — a command, an event
handler, a bare UPDATE — it is marked.
"""

from __future__ import annotations

from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from services.common import status_documents

log = structlog.get_logger(__name__)
_WROTE = "guanjia_wrote"
_installed = False


def parse_changes(raw: str | None) -> dict[str, int]:
    """ "MS1:3,MS2:1,MS1:4," → the newest revision of each ticket."""
    changes: dict[str, int] = {}
    for item in (raw or "").split(","):
        ticket, _, rev = item.rpartition(":")
        if ticket and rev.isdigit():
            changes[ticket] = max(changes.get(ticket, -1), int(rev))
    return changes


def _after_execute(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
    # Anything but a plain read may have changed a public status: only then is the note read.
    if not statement.lstrip()[:6].upper().startswith("SELECT"):
        conn.info[_WROTE] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(_WROTE, None)


def _before_commit(session: Session) -> None:
    if not session.in_transaction():
        return
    session.flush()  # the ORM's last changes, so that their triggers have noted them
    conn = session.connection()
    if not conn.info.pop(_WROTE, False):
        return
    raw = conn.exec_driver_sql("SELECT current_setting('guanjia.public_changes', true)").scalar()
    changes = status_documents.to_mark(parse_changes(raw))
    if not changes:
        return
    try:
        await_only(status_documents.mark(changes))
    except (RedisError, OSError) as exc:
        # Never refuse an appeal's change for a cache: documents expire (DOCUMENT_TTL_S).
        log.warning("public_status_not_marked", tickets=len(changes), error=repr(exc))


def install() -> None:
    """Mark changed public statuses before every commit of this process (intake's API and
    worker call it at start; idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "after_cursor_execute", _after_execute)
    event.listen(Engine, "rollback", _forget)
    event.listen(Session, "before_commit", _before_commit)
    _installed = True
