"""How a command runs: its coroutines in one event loop, against the servers `up` uses.

Every command that touches the database goes through :func:`_run` (one ``asyncio.run``, the
engine disposed at the end) and most through :func:`_with_servers` (the embedded PostgreSQL and
Redis started for the command when nothing else runs them). The services' own command modules
receive these two helpers rather than importing them, so they stay free of the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


def _run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    async def wrapped() -> Any:
        from services.common.db import get_engine

        try:
            return await coro_fn()
        finally:
            await get_engine().dispose()

    return asyncio.run(wrapped())


def _with_servers(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command against the same servers `up` uses, starting them only if needed."""

    def wrapper(args: argparse.Namespace) -> int:
        from services.embedded import prepare_environment

        embedded, _ = prepare_environment()
        try:
            return fn(args)
        finally:
            embedded.stop()

    return wrapper
