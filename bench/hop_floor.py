"""How much of the bare single-INSERT endpoint a two-process path can reach at best.

    .venv/bin/python -m bench.hop_floor [seconds] [rounds]

DESIGN §3 puts one public entry (the gateway) before the service that records an appeal (intake,
over REST). Issue 14's ingest target is a share of a bare FastAPI + asyncpg endpoint doing one
INSERT in one process. This measures, in one run and with the same client, calls and concurrency
as `bench.system_load`'s ingest phase:
- `single`: that bare endpoint (`bench/baseline_app.py`);
- `hop`: a bare relay process in front of it, handing each body on as the gateway calls a service
  and the answer back (no signature, parsing, validation, normalising or record of its own: the hop and nothing else);
- `hop_2`: the same with two relay processes on one port, as `guanjia up` runs the gateway.

Phases alternate (single, hop, hop_2, then again) so that a drift of the shared machine falls on
all of them. The ratio `hop / single` is the ceiling of any implementation of that architecture
on this machine: what the edge and the service add of their own comes on top of it.
Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
from typing import Any

import httpx

from bench.common import admin, db_url
from bench.system_load import SECRET, hotline_request, saturate, start_baseline

CONCURRENCY = 16  # as bench.system_load's ingest phase


async def measure(seconds: float, rounds: int) -> dict[str, Any]:
    """Start the three endpoints on a scratch database, saturate each in turn, stop them."""
    name = f"bench_hop_{secrets.token_hex(3)}"
    await admin(f'CREATE DATABASE "{name}"')
    procs = []
    try:
        single, single_url = start_baseline(db_url(name))
        procs.append(single)
        hop, hop_url = start_baseline("", relay_to=single_url)
        procs.append(hop)
        hop_2, hop_2_url = start_baseline("", relay_to=single_url, processes=2)
        procs.append(hop_2)
        async with httpx.AsyncClient(timeout=2) as probe:
            for url in (hop_url, hop_2_url):  # the relays answer /docs before their clients are up
                for _ in range(50):
                    try:
                        if (await probe.post(url + "/relay", content=b"{}")).status_code == 202:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
        targets = {
            "single": single_url + "/ingest",
            "hop": hop_url + "/relay",
            "hop_2": hop_2_url + "/relay",
        }
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
        for _ in range(rounds):
            for label, url in targets.items():
                runs[label].append(await saturate(url, hotline_request(url), seconds, CONCURRENCY))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    rate = {k: round(statistics.median(r["per_s"] for r in v), 1) for k, v in runs.items()}
    return {
        "benchmark": "hop_floor",
        "seconds_per_phase": seconds,
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "per_s": rate,
        "runs_per_s": {k: [r["per_s"] for r in v] for k, v in runs.items()},
        "errors": {k: sum(int(r["errors"]) for r in v) for k, v in runs.items()},
        "client_cores": {k: [r["client_cores"] for r in v] for k, v in runs.items()},
        "ratio_hop_to_single": round(rate["hop"] / rate["single"], 3) if rate["single"] else None,
        "ratio_hop_2_to_single": round(rate["hop_2"] / rate["single"], 3) if rate["single"] else None,
        "target_ratio_issue_14": 0.5,
    }


def main(seconds: float = 10.0, rounds: int = 3) -> dict[str, Any]:
    """Measure and return the JSON object."""
    assert SECRET  # the calls are signed as in system_load, though nothing here checks them
    return asyncio.run(measure(seconds, rounds))


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(main(float(args[0]) if args else 10.0, int(args[1]) if len(args) > 1 else 3)))
