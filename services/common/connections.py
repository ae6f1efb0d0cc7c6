"""The PostgreSQL connection budget of a whole deployment (pure, no I/O).

Every process keeps its own pool (`GUANJIA_DB_POOL_SIZE` kept open, `GUANJIA_DB_MAX_OVERFLOW`
more under load), and PostgreSQL refuses any connection past `max_connections` with "too many
clients already". A burst that makes every process open its overflow at once would then fail
wherever it lands: a `503` at the door, a job retried, the launcher's own statements. So the
launcher adds the processes' pools up before starting them: the server is given room for the sum,
or, where the server is not ours to configure, each pool is cut to its share.
"""

from __future__ import annotations

from dataclasses import dataclass

# Connections kept free of the processes' pools: migrations, the command line, an operator's psql,
# a benchmark's own probe.
RESERVE = 10


@dataclass(frozen=True)
class Pool:
    """One process's pool: `size` kept open, up to `overflow` more under load."""

    size: int
    overflow: int

    @property
    def most(self) -> int:
        """The most connections the process ever holds."""
        return self.size + self.overflow


def needed(processes: int, pool: Pool, reserve: int = RESERVE) -> int:
    """`max_connections` a server needs for `processes` pools at their fullest, plus the reserve."""
    return processes * pool.most + reserve


def fit(limit: int, processes: int, pool: Pool, reserve: int = RESERVE) -> Pool:
    """The pool each of `processes` may have on a server that takes `limit` connections: `pool`
    itself when all of them fit, else an equal share, split between kept and overflow as `pool`
    splits them. Never below one connection a process: a process without one cannot work at all,
    and the launcher says so when even that does not fit."""
    if processes <= 0 or needed(processes, pool, reserve) <= limit:
        return pool
    share = max(1, (limit - reserve) // processes)
    size = max(1, min(pool.size, -(-share * pool.size // pool.most)))
    return Pool(size=size, overflow=max(0, min(pool.overflow, share - size)))
