"""Migrating and seeding: `guanjia migrate`, `guanjia seed`, and what `up` says of the registers.

Schema migration of every service's branch, the first city admin of a new embedded install,
and the counts and help text about the registers (villages, stations, donors) that `up` prints
once the system is ready.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from services.cli.runtime import _run, _with_servers


def migrate() -> None:
    """`alembic upgrade heads` against DATABASE_URL."""
    from services.migrations.run import upgrade_heads

    upgrade_heads(os.environ["DATABASE_URL"])


def seed(data_dir: Path) -> str | None:
    """Check the reference data and, on a new embedded install, create a first city admin.

    Returns the file holding the first admin's password: just written, or kept from the start
    that created it (so `up` can say where it is on every start, not only the first).
    """
    from sqlalchemy import func, select

    from services.common.db import session_scope
    from services.common.reference import load_reference
    from services.common.settings import get_settings
    from services.gateway.models import StaffAccount
    from services.gateway.service.identity import create_staff

    ref = load_reference()
    print(f"reference data: {len(ref.towns)} towns and subdistricts, {len(ref.villages)} villages")
    if get_settings().env == "production":
        return None

    path = data_dir / "admin-password.txt"

    async def first_admin() -> str | None:
        async with session_scope() as session:
            if await session.scalar(select(func.count()).select_from(StaffAccount)):
                return str(path) if path.exists() else None
            password = secrets.token_urlsafe(12)
            await create_staff(session, "admin", password, "city_admin", "city")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"username=admin\npassword={password}\n")
        return str(path)

    result: str | None = _run(first_admin)
    return result


def register_counts() -> dict[str, int]:
    """How many villages (shipped and imported), stations and donors the database holds now."""
    from sqlalchemy import text

    from services.common.db import session_scope
    from services.common.reference import load_reference
    from services.common.reference import store as reference_store

    async def count() -> dict[str, int]:
        async with session_scope() as session:
            await reference_store.refresh(session)
            found = {
                name: int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for name, table in (
                    ("imported", "reference.villages"),
                    ("stations", "routing.stations"),
                    ("donors", "routing.donors"),
                )
            }
        return {"villages": len(load_reference().villages), **found}

    result: dict[str, int] = _run(count)
    return result


def reference_help(counts: dict[str, int] | None = None) -> list[str]:
    """What `up` says about the registers: what is loaded, that no station and no donor ships,
    and how to load the city's own."""
    loaded = (
        [
            f"registers loaded: {counts['villages']} villages and communities ({counts['imported']} imported), "
            f"{counts['stations']} service stations, {counts['donors']} donors"
        ]
        if counts is not None
        else []
    )
    return [
        *loaded,
        "registers: no service station (莞家驿站) and no donor (爱心资源库) is shipped; villages are a real subset",
        "  load the city's own: guanjia reference import --kind villages|stations|donors FILE  (CSV or XLSX)",
        "  or, as city staff: POST /api/v1/reference/{kind}/file  (columns: docs/samples/*.sample.csv, not real data)",
    ]


@_with_servers
def cmd_migrate(args: argparse.Namespace) -> int:
    migrate()
    print("migrated: all service branches at head")
    return 0


@_with_servers
def cmd_seed(args: argparse.Namespace) -> int:
    migrate()
    admin = seed(Path(os.environ["GUANJIA_DATA_DIR"]))
    if admin:
        print(f"first city admin's password: {admin}")
    return 0
