"""The benchmark's run: both databases filled, the same asks measured at each, one report.

Builds the asks from the labelled pairs (three rounds), fills the small and the large scratch
database, measures both, and reports latencies, the baselines' ratios, the labelled duplicates
retrieved and the plans, as one JSON-ready dictionary.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

from bench.common import db_url, scratch_databases
from bench.duplicate_lookup.fill import init_worker, load, log
from bench.duplicate_lookup.measure import BASELINE_ASKS, NO_INDEX_ASKS, Ask, measure
from bench.duplicate_lookup.pairs import appeal_of, pairs
from intake.service.duplicates import lsh, similarity
from intake.service.duplicates.service import doc_of
from services.common.messaging import utcnow
from services.common.reference import load_reference

SMALL = 10
ROUNDS = 3


async def run(n: int) -> dict[str, Any]:
    now = utcnow()
    labelled = pairs()
    rng = random.Random(7)
    firsts = [
        appeal_of(p["a"], now - timedelta(seconds=rng.randrange(3600, 7 * 86400)), f"MSA{i:05d}")
        for i, p in enumerate(labelled)
    ]
    laters = [appeal_of(p["b"], now, f"MSN{i:05d}") for i, p in enumerate(labelled)]
    similarity.warm_up()
    t0 = time.perf_counter()
    later_docs = [doc_of(a) for a in laters]
    analyse_ms = (time.perf_counter() - t0) * 1000 / len(laters)
    asks: list[Ask] = [(a, d) for _ in range(ROUNDS) for a, d in zip(laters, later_docs, strict=True)]
    context = multiprocessing.get_context("spawn")
    async with scratch_databases("guanjia_bench_dups", "small", "large") as names:
        with ProcessPoolExecutor(2, mp_context=context, initializer=init_worker) as pool:
            t0 = time.perf_counter()
            await load(db_url(names["small"]), pool, SMALL, now, [])
            log(f"loading {n} appeals …")
            await load(db_url(names["large"]), pool, n - len(firsts), now, firsts)
            fill_s = time.perf_counter() - t0
        log("measuring …")
        small = await measure(db_url(names["small"]), asks, baselines=False)
        large = await measure(db_url(names["large"]), asks, baselines=True)
    # Labelled duplicates: is the earlier appeal among the later one's candidates at 1,000,000?
    first_docs = [doc_of(a) for a in firsts]
    dup = [i for i, p in enumerate(labelled) if p["label"] == "duplicate"]
    retrievable = [i for i in dup if lsh.may_meet(first_docs[i], later_docs[i])]
    retrieved = [i for i in dup if firsts[i].id in large["found"][i]]
    p50_small, p50_large = small["lookup"]["p50_ms"], large["lookup"]["p50_ms"]
    return {
        "benchmark": "duplicate_lookup",
        "appeals_small": SMALL,
        "appeals_large": n,
        "villages": len(load_reference().villages),
        "towns": len(load_reference().towns),
        "fill_seconds": round(fill_s, 1),
        "asks": len(asks),
        "target_ms_at_1m": 20,
        "analyse_ms_per_arrival": round(analyse_ms, 3),
        "lookup": {
            "p50_ms_at_10": p50_small,
            f"p50_ms_at_{n}": p50_large,
            "p99_ms_at_10": small["lookup"]["p99_ms"],
            f"p99_ms_at_{n}": large["lookup"]["p99_ms"],
            "ratio_p50": round(p50_large / p50_small, 2) if p50_small else None,
            "max_ms_at_10": small["lookup"]["max_ms"],
            f"max_ms_at_{n}": large["lookup"]["max_ms"],
            "candidates_scored_at_10": small["candidates_scored"],
            f"candidates_scored_at_{n}": large["candidates_scored"],
        },
        "baselines_at_1m": {
            "same_lookup_without_gin_index": large["baseline_without_gin_index"],
            "naive_score_every_appeal_of_the_village_in_window": large["baseline_naive_village_scan"],
            "asks": {"without_gin_index": NO_INDEX_ASKS, "naive": BASELINE_ASKS},
            "ratio_p50_without_gin_vs_lookup": round(
                large["baseline_without_gin_index"]["p50_ms"] / p50_large, 1
            ),
            "ratio_p50_naive_vs_lookup": round(large["baseline_naive_village_scan"]["p50_ms"] / p50_large, 1),
        },
        "labelled_duplicates": {
            "pairs": len(dup),
            "retrievable_by_keys_alone": len(retrievable),
            f"retrieved_among_{n}": len(retrieved),
        },
        "gin_index_in_plan": {
            plan: any("ix_fingerprints_keys" in line for line in large[f"explain_{plan}"])
            for plan in ("generic", "custom")
        },
        "explain_generic_plan_at_1m": large["explain_generic"],
        "explain_custom_plan_at_1m": large["explain_custom"],
        "explain_without_gin_index_at_1m": large["explain_no_index"],
    }


def main(n: int = 1_000_000) -> dict[str, Any]:
    """Load both databases, measure, compare."""
    os.environ.setdefault("GUANJIA_PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    return asyncio.run(run(n))
