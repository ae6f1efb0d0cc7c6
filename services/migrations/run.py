"""Run Alembic from code (the CLI and the tests), with the repository's alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    """Config pointing at our script location, whatever the working directory."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "services" / "migrations"))
    locations = cfg.get_main_option("version_locations") or ""
    cfg.set_main_option("version_locations", " ".join(str(ROOT / p) for p in locations.split()))
    if database_url:
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade_heads(database_url: str | None = None) -> None:
    """`alembic upgrade heads`: every service's branch to its newest revision."""
    command.upgrade(alembic_config(database_url), "heads")
