"""The deadlines service's own knobs, from the environment (GUANJIA_DEADLINES_*), with the
programme's defaults. Read as ``get_settings(DeadlinesSettings)`` (`services.common.settings`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeadlinesSettings(BaseSettings):
    """How the sweep (预警, 超期, 督办) works through what is due."""

    model_config = SettingsConfigDict(env_prefix="GUANJIA_DEADLINES_", extra="ignore")

    # Clocks one sweep step takes per round (each round its own transaction, FOR UPDATE SKIP LOCKED).
    sweep_batch: int = Field(default=500, ge=1, le=10_000)
