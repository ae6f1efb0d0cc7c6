"""Every benchmark in one command: `.venv/bin/python -m bench [name ...]`.

Runs each benchmark module in its own process, one after the other (they would measure each
other if run together on two cores), and prints one JSON object keyed by benchmark. Each module's
own JSON already holds its baseline of the same run. With names, runs only those. The whole set
takes about half an hour (two of them load 1,000,000 appeals).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

BENCHMARKS = (
    "calendar_due",
    "system_load",
    "hop_floor",
    "inbound_record",
    "http_clients",
    "status_polls",
    "stats_scale",
    "duplicate_lookup",
    "deadline_sweep",
    "ledger_transfers",
    "worklist_scale",
)


def run(name: str) -> Any:
    """One benchmark's JSON, or why it has none."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}"], capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        try:
            return json.loads(done.stdout)
        except ValueError:
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if lines:
                return json.loads(lines[-1])
    return {"failed": done.returncode, "stderr": done.stderr[-2000:]}


def main(names: list[str]) -> dict[str, Any]:
    """Run the named benchmarks (all by default) and gather their results."""
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    return {name: run(name) for name in (names or BENCHMARKS)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), ensure_ascii=False, indent=1))
