"""The ledger's own knobs, from the environment (GUANJIA_LEDGER_*), with the programme's defaults.
Read as ``get_settings(LedgerSettings)`` (`services.common.settings`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    """How the ledger's worker works through expired reservations."""

    model_config = SettingsConfigDict(env_prefix="GUANJIA_LEDGER_", extra="ignore")

    # Reservations released per savepoint batch when they expire (the cron repeats until fewer).
    expiry_batch: int = Field(default=100, ge=1, le=10_000)
