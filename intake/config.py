"""Intake's own knobs, read from the environment (GUANJIA_*), with the defaults the programme uses.

Kept here rather than in the shared settings: only intake reads them, as
``get_settings(IntakeSettings)`` (the one settings access, `services.common.settings`).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import get_settings


class IntakeSettings(BaseSettings):
    """Duplicate detection, return visits (回访) and disclosure settings."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # 回访: a completed appeal the reporter has not rated within this many days closes unrated.
    return_visit_days: int = Field(default=7, ge=1, le=90, alias="GUANJIA_RETURN_VISIT_DAYS")
    # Duplicates (多口收集): how far back an arrival is compared, and the two score thresholds.
    duplicate_window_days: int = Field(default=30, ge=1, le=365, alias="GUANJIA_DUPLICATE_WINDOW_DAYS")
    duplicate_link_threshold: float | None = Field(default=None, alias="GUANJIA_DUPLICATE_LINK_AT")
    duplicate_suggest_threshold: float | None = Field(default=None, alias="GUANJIA_DUPLICATE_SUGGEST_AT")
    # Repeats: the same person with the same matter again, looked for this far back.
    repeat_window_days: int = Field(default=365, ge=1, le=3650, alias="GUANJIA_REPEAT_WINDOW_DAYS")
    # Shards of the statistics counters' hot rows (city and town), to spread row locks.
    stat_shards: int = Field(default=8, ge=1, le=64, alias="GUANJIA_STAT_SHARDS")


def get_intake_settings() -> IntakeSettings:
    """``get_settings(IntakeSettings)``: read once per process (kept for `intake.service.duplicates`)."""
    return get_settings(IntakeSettings)
