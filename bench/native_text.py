"""The native libraries of the ingest path, each against what it replaces, in the same run.

- traditional -> simplified: the OpenCC project's own binding (`opencc`, C++) against the
  pure-Python reimplementation it replaced (`opencc-python-reimplemented`), when that is
  importable from `BENCH_OPENCC_PURE_PATH` (a `pip install --target` of it: both install the
  module `opencc`, so they cannot share one environment);
- segmentation: `rjieba` (Rust) against `jieba` on the 754 labelled appeals of `routing/data`,
  with the share of appeals both cut into the same words (the duplicate scorer and the triage
  model were fitted on jieba's words: a segmenter that cuts differently changes their features);
- answers: `orjson.dumps` against `json.dumps` of a channel's answer (`AppealAccepted`).

Prints one JSON object. Run: `.venv/bin/python -m bench.native_text` (under a minute).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

APPEALS = [
    str(item["text"])
    for source in sorted(Path("routing/data").rglob("*.yaml"))
    for item in yaml.safe_load(source.read_text("utf-8")) or []
    if isinstance(item, dict) and item.get("text")
]
# What a caller says in traditional characters (a Hong Kong or Taiwan relative, an old phone's IME).
TRADITIONAL = "東堤路的路燈壞了一個星期，晚上很黑，老人家出入好唔方便，麻煩盡快派人來維修。" * 2


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    """Mean microseconds per call of `fn` over `rounds` calls (after a warm-up)."""
    for _ in range(min(rounds, 50)):
        fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return round((time.perf_counter() - start) / rounds * 1e6, 2)


_OPENCC_CHILD = """
import json, sys, time
import opencc
c = opencc.OpenCC("t2s")
text = sys.argv[1]
for _ in range(50): c.convert(text)
n = 2000
t = time.perf_counter()
for _ in range(n): out = c.convert(text)
print(json.dumps({"us": (time.perf_counter() - t) / n * 1e6, "out": out, "module": opencc.__file__}))
"""


def opencc_one(pure_path: str | None) -> dict[str, Any]:
    """OpenCC in a child process (the pure one first on its path, when given)."""
    env = dict(os.environ)
    if pure_path:
        env["PYTHONPATH"] = pure_path
    done = subprocess.run(
        [sys.executable, "-c", _OPENCC_CHILD, TRADITIONAL],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def opencc_figures() -> dict[str, Any]:
    """Native OpenCC per call, and against the pure-Python one when it is available."""
    native = opencc_one(None)
    result: dict[str, Any] = {"chars": len(TRADITIONAL), "native_us": round(native["us"], 2)}
    pure_path = os.environ.get("BENCH_OPENCC_PURE_PATH")
    if pure_path and Path(pure_path, "opencc").is_dir():
        pure = opencc_one(pure_path)
        result["pure_python_us"] = round(pure["us"], 2)
        result["speedup"] = round(pure["us"] / native["us"], 1)
        result["same_output"] = pure["out"] == native["out"]
    else:
        result["pure_python_us"] = None  # set BENCH_OPENCC_PURE_PATH to compare
    return result


def segmenter_figures() -> dict[str, Any]:
    """jieba against rjieba: time over the labelled appeals and how often they cut alike."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    result: dict[str, Any] = {"appeals": len(APPEALS)}
    result["jieba_us"] = per_call_us(lambda: [jieba.lcut(t) for t in APPEALS], 3) / len(APPEALS)
    try:
        rjieba = importlib.import_module("rjieba")
    except ImportError:
        result["rjieba_us"] = None  # not installed
        return result
    result["rjieba_us"] = per_call_us(lambda: [rjieba.cut(t) for t in APPEALS], 3) / len(APPEALS)
    same = sum(1 for t in APPEALS if jieba.lcut(t) == list(rjieba.cut(t)))
    result["same_words_share"] = round(same / len(APPEALS), 3)
    result["jieba_us"] = round(result["jieba_us"], 1)
    result["rjieba_us"] = round(result["rjieba_us"], 1)
    return result


def json_figures() -> dict[str, Any]:
    """An answer of a channel (`AppealAccepted`) serialised by json and by orjson."""
    import orjson

    body = {"appeal_id": str(uuid.uuid4()), "ticket_no": "MS20261206000042", "query_code": "042137"}
    return {
        "json_us": per_call_us(lambda: json.dumps(body).encode(), 20000),
        "orjson_us": per_call_us(lambda: orjson.dumps(body), 20000),
    }


def main() -> dict[str, Any]:
    """Every figure, one JSON object."""
    return {
        "benchmark": "native_text",
        "opencc_t2s": opencc_figures(),
        "segmentation_per_appeal": segmenter_figures(),
        "answer_json": json_figures(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False))
