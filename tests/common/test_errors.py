"""Which errors are a dependency being away (503) rather than a bug (500)."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from services.common.errors import is_unavailable


class DeadlockDetectedError(Exception):
    """Stands in for asyncpg's deadlock error, which carries its SQLSTATE."""

    sqlstate = "40P01"


class TooManyConnectionsError(Exception):
    """Stands in for asyncpg's class of the same name (matched by name, as SQLAlchemy wraps it)."""


def _wrapped(cause: Exception) -> sa_exc.DBAPIError:
    try:
        try:
            raise cause
        except Exception as inner:
            raise sa_exc.DBAPIError("SELECT 1", {}, inner) from inner
    except sa_exc.DBAPIError as outer:
        return outer


def test_connection_troubles_are_unavailable() -> None:
    assert is_unavailable(sa_exc.OperationalError("SELECT 1", {}, Exception("down")))
    assert is_unavailable(_wrapped(TooManyConnectionsError("sorry, too many clients already")))
    assert is_unavailable(ConnectionRefusedError())


def test_bad_data_and_bugs_are_not() -> None:
    assert not is_unavailable(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_unavailable(_wrapped(ValueError("bad")))
    assert not is_unavailable(KeyError("x"))


def test_a_job_retries_when_the_database_is_full_and_parks_a_bug() -> None:
    # Job policy shares the test: "too many clients" is a retry, never a dead letter.
    from services.common.jobs import _is_transient

    assert _is_transient(_wrapped(TooManyConnectionsError("sorry, too many clients already")))
    assert _is_transient(_wrapped(DeadlockDetectedError("deadlock detected")))
    assert not _is_transient(_wrapped(ValueError("bad")))
    # The connection went away mid-transaction (a stop or a restart): the next try will do.
    assert _is_transient(
        sa_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back.")
    )
    assert not _is_transient(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
