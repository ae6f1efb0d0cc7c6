"""`guanjia staff create` and `guanjia apikey create`: the operator's accounts and API keys.

Both migrate first and write through the gateway's identity service; staff creation may check
routing's station register directly, as the operator's tool over the whole database.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.cli.database import migrate
from services.cli.runtime import _run, _with_servers


async def station_registered(session: Any, code: str) -> bool:
    """Whether routing's register holds an active station with this code. The CLI is the
    operator's tool over the whole database (it migrates every service's schema), so it may read
    routing's table where the gateway may not."""
    from sqlalchemy import text

    found = await session.scalar(
        text("SELECT 1 FROM routing.stations WHERE code = :code AND active"), {"code": code}
    )
    return found is not None


@_with_servers
def cmd_staff_create(args: argparse.Namespace) -> int:
    from services.common.db import session_scope
    from services.common.errors import DomainError
    from services.gateway.service.identity import create_staff

    migrate()

    async def go() -> str:
        async with session_scope() as session:
            account = await create_staff(
                session,
                args.username,
                args.password,
                args.role,
                args.org,
                phone=args.phone,
                openid=args.openid,
                station_exists=station_registered,
            )
            return (
                f"created staff {account.username} ({account.role} @ {account.org_type}:{account.org_code})"
            )

    try:
        print(_run(go))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


@_with_servers
def cmd_apikey_create(args: argparse.Namespace) -> int:
    from services.common.db import session_scope
    from services.gateway.service.identity import create_api_key

    migrate()

    async def go() -> str:
        async with session_scope() as session:
            return await create_api_key(session, args.name)

    key = _run(go)
    print(f"created API key '{args.name}' (shown once, store it now):")
    print(key)
    return 0
