"""Alembic environment for every service's branch.

Each service keeps its tables in its own schema and its revisions in its own folder. To write a
new revision for one service only, set GUANJIA_MIGRATION_SCHEMA to its schema:

    GUANJIA_MIGRATION_SCHEMA=intake alembic revision --autogenerate --head intake@head -m "..."
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.db import UTCDateTime, async_url
from services.common.settings import get_settings
from services.migrations.registry import all_metadata

config = context.config
ONLY_SCHEMA = os.environ.get("GUANJIA_MIGRATION_SCHEMA")
SCHEMAS = {md.schema for md in all_metadata()}


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "schema":
        return name in SCHEMAS and (ONLY_SCHEMA is None or name == ONLY_SCHEMA)
    return True


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Our TypeDecorator is a plain timestamptz in the database; keep migrations free of app imports.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _target() -> list[MetaData]:
    return [md for md in all_metadata() if ONLY_SCHEMA is None or md.schema == ONLY_SCHEMA]


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return async_url(url)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target(),
        include_schemas=True,
        include_name=_include_name,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=_target(), include_schemas=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
