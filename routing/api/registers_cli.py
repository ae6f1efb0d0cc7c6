"""``guanjia reference import --kind villages|stations|donors FILE``: load a register of the city.

The file (CSV or XLSX, see `docs/samples/`) is checked whole first; with any error nothing is
written and every error is printed by row and column. Run twice, the second run changes nothing.
New donors' keys (`X-Donor-Key`) are printed once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from services.contracts.reference import REFERENCE_KINDS, ImportReport

Runner = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]
Wrapper = Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]


def add_commands(sub: Any, with_servers: Wrapper, run: Runner, migrate: Callable[[], None]) -> None:
    """Add ``reference import`` to the ``guanjia`` parser."""
    reference = sub.add_parser(
        "reference", help="the city's registers: villages, stations, donors"
    ).add_subparsers(dest="reference_command", required=True)
    cmd = reference.add_parser("import", help="import a register (CSV or XLSX): all rows or none, idempotent")
    cmd.add_argument("--kind", required=True, choices=REFERENCE_KINDS)
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--dry-run", action="store_true", help="only check the file")

    def go(args: argparse.Namespace) -> int:
        migrate()
        return _import(args, run)

    cmd.set_defaults(fn=with_servers(go))


def report_lines(report: ImportReport) -> list[str]:
    """What an import did, for the terminal."""
    verb = "would import" if report.dry_run else "imported"
    lines = [
        f"{verb} {report.rows} {report.kind}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    ]
    if report.issued_keys:
        lines.append("new donors' keys (X-Donor-Key; shown once, hand them over securely):")
        lines += [f"  {k.register_code}  {k.key}" for k in report.issued_keys]
    return lines


def _import(args: argparse.Namespace, run: Runner) -> int:
    from routing.service import registers
    from services.common.auth import Principal
    from services.common.db import session_scope
    from services.common.errors import DomainError
    from services.common.reference import load_reference
    from services.common.reference import store as reference_store
    from services.common.reference.importing import RowsInvalid, parse_file

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    who = Principal(
        staff_id="cli",
        username=f"cli:{getpass.getuser()}"[:64],
        role="city_admin",
        org_type="city",
        org_code="city",
    )
    apply = {
        "villages": registers.import_villages,
        "stations": registers.import_stations,
        "donors": registers.import_donors,
    }[args.kind]

    async def go() -> ImportReport:
        async with session_scope() as session:
            await reference_store.refresh(session)
            rows = parse_file(args.kind, data, load_reference(), args.file.name)
            report: ImportReport = await apply(session, who, rows, dry_run=args.dry_run)  # type: ignore[operator]
            return report

    try:
        report = run(go)
    except RowsInvalid as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for err in exc.extra["errors"]:
            column = f" [{err['column']}]" if err["column"] else ""
            print(f"  row {err['row']}{column}: {err['message']}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print("\n".join(report_lines(report)))
    return 0
