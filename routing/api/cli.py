"""``guanjia routing train``: retrain the triage model on the shipped examples and staff corrections.

The model is tuned by cross-validation on the training examples, scored on the held-out file it
never saw, and stored in the database, where every routing process picks it up within a minute.
A model that scores below the targets on the held-out file is refused unless ``--force``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

TARGETS = {"kind": 0.95, "category": 0.85}

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
    train.add_argument("--force", action="store_true", help="store even below the held-out targets")

    def cmd(args: argparse.Namespace) -> int:
        return _train(args, run)

    def dispatch(args: argparse.Namespace) -> int:
        if args.files_only and args.no_store:
            return cmd(args)
        return with_servers(cmd)(args)

    train.set_defaults(fn=dispatch)


def _train(args: argparse.Namespace, run: Runner) -> int:
    from routing.classifier import data, training

    async def corrections() -> list[data.Example]:
        from routing.service.models_store import corrections as load
        from services.common.db import session_scope

        async with session_scope() as session:
            return await load(session)

    examples = data.training_examples()
    fixes = [] if args.files_only else run(corrections)
    print(f"training on {len(examples)} shipped examples and {len(fixes)} staff corrections")
    model = training.train([*examples, *fixes], version=args.version)
    cv = model.meta["cv"]
    print(f"cross-validation ({cv['folds']} folds): kind {cv['kind']:.1%} category {cv['category']:.1%}")
    heldout = training.score(model, training.prepare(data.heldout_examples()))
    print(f"held-out (never trained on): {heldout.line()}")
    if args.output:
        model.save(args.output)
        print(f"model written to {args.output}")
    below = [k for k, target in TARGETS.items() if getattr(heldout, k) < target]
    if below and not args.force:
        print(f"refused: held-out {', '.join(below)} below target; the model in use is unchanged")
        return 1
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
                examples=[*examples, *fixes],
                heldout=vars(heldout),
            )
            return record.version

    version = run(store)
    print(f"model {version} is now in use")
    return 0
