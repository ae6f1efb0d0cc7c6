"""``python -m bench.duplicate_lookup [appeals]``: run the benchmark and print its JSON report.

The guard matters: the row generators are spawned processes, which import this module again.
"""

from __future__ import annotations

import json
import sys

from bench.duplicate_lookup.scenario import main

if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), ensure_ascii=False))
