"""``guanjia routing train``: retrain the triage model on the shipped examples and staff corrections.

A candidate is trained (and tuned by cross-validation) without a validation split drawn from the
training data (stratified, seeded); if it reaches the gates on that split, the model is retrained
on everything and stored in the database, where every routing process picks it up within a
minute. A candidate below a gate is refused unless ``--force``. No evaluation file is read here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

# Floors on the validation split: a retrain below any of them is refused (issue 12's targets are
# measured on the independent set by ``python -m bench.judgement_triage``).
GATES = {"kind": 0.95, "category": 0.85, "urgency": 0.85, "emergency_recall": 0.85, "auto_category": 0.95}

Runner = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]
Wrapper = Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]


def add_commands(sub: Any, with_servers: Wrapper, run: Runner) -> None:
    """Add ``routing train`` to the ``guanjia`` parser."""
    routing = sub.add_parser("routing", help="routing: the triage model").add_subparsers(
        dest="routing_command", required=True
    )
    train = routing.add_parser(
        "train", help="retrain the triage model (shipped examples + staff corrections)"
    )
    train.add_argument("--files-only", action="store_true", help="ignore staff corrections (no database)")
    train.add_argument("--no-store", action="store_true", help="do not make it the model in use")
    train.add_argument("--output", type=Path, help="also write the model file here")
    train.add_argument("--version", help="model version label (default: UTC timestamp)")
    train.add_argument("--force", action="store_true", help="store even below the validation gates")

    def cmd(args: argparse.Namespace) -> int:
        return _train(args, run)

    def dispatch(args: argparse.Namespace) -> int:
        if args.files_only and args.no_store:
            return cmd(args)
        return with_servers(cmd)(args)

    train.set_defaults(fn=dispatch)


def _train(args: argparse.Namespace, run: Runner) -> int:
    from routing.service.classifier import data, training

    async def corrections() -> list[data.Example]:
        from routing.service.models_store import corrections as load
        from services.common.db import session_scope

        async with session_scope() as session:
            return await load(session)

    examples = data.training_examples()
    fixes = [] if args.files_only else run(corrections)
    everything = [*examples, *fixes]
    print(f"training on {len(examples)} shipped examples and {len(fixes)} staff corrections")
    # The gate: a candidate trained without a validation split (stratified, seeded) must reach
    # the targets on it. Evaluation files are never read here (bench.judgement_triage scores them).
    fitting, held = training.split(everything)
    candidate = training.train(fitting, version="candidate")
    validation = training.score(candidate, training.prepare(held))
    print(f"validation split (not trained on by the candidate): {validation.line()}")
    below = [k for k, target in GATES.items() if getattr(validation, k) < target]
    if below and not args.force:
        print(f"refused: validation {', '.join(below)} below the gate; the model in use is unchanged")
        return 1
    # What passed the gate is retrained on everything (the same recipe, more data).
    model = training.train(everything, version=args.version)
    model.meta["validation"] = {k: v for k, v in vars(validation).items() if k != "per_category"}
    cv = model.meta["cv"]
    print(
        f"cross-validation ({cv['folds']} folds): kind {cv['kind']:.1%} category {cv['category']:.1%} "
        f"urgency {cv['urgency']:.1%} emergency recall {cv['emergency_recall']:.1%}"
    )
    if args.output:
        model.save(args.output)
        print(f"model written to {args.output}")
    if args.no_store:
        return 0

    async def store() -> str:
        from routing.service.models_store import store as keep
        from services.common.db import session_scope

        async with session_scope() as session:
            record = await keep(
                session,
                model,
                created_by="guanjia routing train",
                examples=everything,
                heldout={"validation": model.meta["validation"]},
            )
            return record.version

    version = run(store)
    print(f"model {version} is now in use")
    return 0
