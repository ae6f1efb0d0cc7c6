"""`guanjia ledger verify` and `guanjia ledger reconcile`: the journal's audits from the shell.

- `verify` walks the hash chain from genesis and reports any break (an edited posted row, a
  rewritten link, a gap, an unchained entry);
- `reconcile` rebuilds every balance from the journal and compares (balances, running balances,
  entry sums, reservations, pledges).
Each prints its report as JSON and exits 0 when everything holds, 1 when something does not.
Both only read: an audit never migrates or writes anything.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

Runner = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]
Wrapper = Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]
COMMANDS = {
    "verify": "verify the journal's hash chain",
    "reconcile": "rebuild every balance from the journal and compare",
}


def add_commands(sub: Any, with_servers: Wrapper, run: Runner) -> None:
    """Add `ledger verify` and `ledger reconcile` to the `guanjia` parser."""
    ledger = sub.add_parser("ledger", help="ledger: audits of the journal").add_subparsers(
        dest="ledger_command", required=True
    )
    for name, text in COMMANDS.items():

        def cmd(args: argparse.Namespace, name: str = name) -> int:
            return audit(name, run)

        ledger.add_parser(name, help=text).set_defaults(fn=with_servers(cmd))


def audit(name: str, run: Runner) -> int:
    """Run one audit, print its JSON report, and answer the exit status."""

    async def go() -> tuple[bool, str]:
        from ledger.service import link_all, reconcile, verify_chain
        from services.common.db import get_sessionmaker, session_scope

        # Entries committed a moment ago are linked first, so the audit covers every one.
        await link_all(get_sessionmaker())
        async with session_scope() as session:
            report = await (verify_chain(session) if name == "verify" else reconcile(session))
        return report.ok, report.model_dump_json(indent=2)

    ok, text = run(go)
    print(text)
    return 0 if ok else 1
