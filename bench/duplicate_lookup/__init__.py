"""Benchmark: the duplicate lookup an arrival makes, at 10 appeals and at 1,000,000 appeals.

Two scratch databases on the same PostgreSQL, migrated with Alembic (`bench.common`):
- **small**: 10 appeals;
- **large**: 1,000,000 appeals over the past year, spread over the 33 towns and 207 villages of
  `services/common/reference`, plus the first appeal of each labelled pair of
  `tests/data/duplicates.yaml`, received in the last week.
Every appeal is stored with its fingerprint (`intake.fingerprints`: tokens, text and LSH keys in
the GIN-indexed `bigint[]`) made by intake's own code (`similarity.analyse`, `stored_tokens`,
`lsh.keys`), loaded with COPY. The texts are the 754 appeals of `routing/data` (training and
held-out), analysed once each; each appeal takes one of them with a place of its own (village, its
town, and for 60% a point near the village, so its own grid cell). Analysis does not depend on the
place, and a MinHash signature depends only on the text, so signatures are memoised per text;
keys are still `lsh.keys` of each appeal's own place. Two worker processes generate the rows
while the main process copies them (a few minutes for 1,000,000).

Measured: the lookup intake makes on arrival (`intake.service.duplicates.service.find_candidates`: the
candidates sharing a key of the window's 10-day buckets — fine keys and coarse keys, each tier
capped — through the GIN index in one statement, then loaded (the columns scoring needs) and
scored by the fitted model),
for the later appeal of each labelled pair, arriving now, three rounds (336 asks), p50 / p99 / max
ms, at both sizes, after five unmeasured asks. Baselines, in the same run on the large database:
the same function with the GIN index dropped inside a rolled-back transaction (the same query, no
index; 3 asks, each reads every fingerprint), and a naive lookup without LSH keys that scores every
appeal of the village received within the window. EXPLAIN of the statement the function sends, as
the cached generic plan a connection settles on and as a custom plan for one arrival's keys (what
each connection's first five runs get). Also reported: how many labelled duplicates the lookup
still retrieves among 1,000,000 appeals (against how many the keys alone could, `lsh.may_meet`).

Prints JSON. Run: `.venv/bin/python -m bench.duplicate_lookup [appeals]` (PostgreSQL from
`GUANJIA_BENCH_PG`, default postgresql://postgres@127.0.0.1:5432/postgres).

The package is split by concern: ``fill`` (generating and loading appeals), ``pairs`` (the
labelled pairs), ``measure`` (the lookup, its baselines and EXPLAIN) and ``scenario`` (the run
and its report); ``__main__`` prints the report.
"""

from __future__ import annotations

from bench.duplicate_lookup.scenario import main, run

__all__ = ["main", "run"]
