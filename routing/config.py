"""Routing's own knobs, from the environment (GUANJIA_ROUTING_*), with the programme's defaults.

Read as ``get_settings(RoutingSettings)`` (the one settings access, `services.common.settings`).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    """Caps, periods and intervals of routing."""

    model_config = SettingsConfigDict(env_prefix="GUANJIA_ROUTING_", extra="ignore")

    # 退单: how many send-backs an appeal allows before the town decides for good.
    send_back_cap: int = Field(default=2, ge=0, le=10)
    # 公示: days a passed consultation is publicly posted before the plan is approved.
    notice_days: int = Field(default=5, ge=1, le=30)
    # 认领: days a donor has to fulfil a pledge before it expires and the appeal returns to the pool.
    claim_days: int = Field(default=15, ge=1, le=180)
    # How often a process looks for a newer trained triage model in the database.
    model_refresh_s: float = Field(default=60.0, ge=0)
