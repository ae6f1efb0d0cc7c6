"""The connection budget `guanjia up` keeps (services.common.connections)."""

from __future__ import annotations

import pytest

from services.common import connections
from services.common.connections import RESERVE, Pool


def test_a_server_is_asked_for_every_pool_at_its_fullest_plus_the_reserve() -> None:
    assert connections.needed(13, Pool(10, 5)) == 13 * 15 + RESERVE
    assert connections.needed(0, Pool(10, 5)) == RESERVE


def test_pools_that_fit_are_kept_as_configured() -> None:
    pool = Pool(10, 5)
    assert connections.fit(13 * 15 + RESERVE, 13, pool) == pool
    assert connections.fit(1000, 13, pool) == pool


@pytest.mark.parametrize("pool", [Pool(10, 5), Pool(15, 0)])
@pytest.mark.parametrize(("limit", "processes"), [(100, 13), (100, 16), (60, 13), (25, 13), (300, 40)])
def test_pools_that_do_not_fit_share_the_server_and_never_exceed_it(
    limit: int, processes: int, pool: Pool
) -> None:
    share = connections.fit(limit, processes, pool)
    assert share.size >= 1 and share.overflow >= 0
    assert share.size <= pool.size and share.overflow <= pool.overflow
    if (limit - RESERVE) // processes >= 1:
        # All of them at their fullest stay within the server, the reserve left free.
        assert connections.needed(processes, share) <= limit
        # And the share is used, not wasted: one more each would not fit.
        assert processes * (share.most + 1) + RESERVE > limit or share == pool


def test_a_server_too_small_for_one_connection_each_still_gives_each_process_one() -> None:
    # A process without a connection cannot work at all; the launcher reports the shortfall.
    assert connections.fit(12, 13, Pool(10, 5)) == Pool(1, 0)
    assert connections.fit(12, 13, Pool(15, 0)) == Pool(1, 0)


def test_a_pool_without_overflow_is_cut_to_kept_connections_only() -> None:
    # Overflow is opened and closed per request; a share of a pool that had none stays all kept.
    share = connections.fit(100, 13, Pool(15, 0))
    assert share == Pool((100 - RESERVE) // 13, 0)


class _Server:
    """What `share_connections` asks of the embedded handle: room, or the limit it has."""

    def __init__(self, *, roomy: bool, limit: int | None) -> None:
        self.roomy, self.limit = roomy, limit

    def make_room(self, connections: int) -> bool:
        return self.roomy

    def max_connections(self) -> int | None:
        return self.limit


def test_up_leaves_the_pools_alone_when_the_server_has_room() -> None:
    from services.cli.up import share_connections

    env = {"DATABASE_URL": "postgresql://x"}
    assert share_connections(_Server(roomy=True, limit=None), 13, env) == []  # type: ignore[arg-type]
    assert "GUANJIA_DB_POOL_SIZE" not in env


def test_up_cuts_each_childs_pool_to_its_share_of_a_server_too_small_and_says_so() -> None:
    from services.cli.up import share_connections

    env: dict[str, str] = {}
    told = share_connections(_Server(roomy=False, limit=100), 13, env)  # type: ignore[arg-type]
    share = Pool(int(env["GUANJIA_DB_POOL_SIZE"]), int(env["GUANJIA_DB_MAX_OVERFLOW"]))
    assert connections.needed(13, share) <= 100 and share.size >= 1
    assert len(told) == 1 and "max_connections" in told[0]
    # So small that one connection each leaves no reserve: said too.
    env = {}
    told = share_connections(_Server(roomy=False, limit=15), 13, env)  # type: ignore[arg-type]
    assert env["GUANJIA_DB_POOL_SIZE"] == "1" and len(told) == 2
