"""Feedback's own knobs (GUANJIA_* environment variables), beside the shared settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedbackSettings(BaseSettings):
    """What WeChat and the SMS gateway need beyond DESIGN §10's variables."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # The official account's AppSecret (GUANJIA_WECHAT_APP_ID is its AppID).
    wechat_app_secret: str | None = Field(default=None, alias="GUANJIA_WECHAT_APP_SECRET")
    # The mini-program's subscribe-message template for "status changed" (订阅消息模板ID).
    miniprogram_template_id: str | None = Field(default=None, alias="GUANJIA_MINIPROGRAM_STATUS_TEMPLATE")
    miniprogram_page: str = Field(default="pages/appeal/detail", alias="GUANJIA_MINIPROGRAM_STATUS_PAGE")
    miniprogram_state: Literal["developer", "trial", "formal"] = Field(
        default="formal", alias="GUANJIA_MINIPROGRAM_STATE"
    )
    sms_template: str = Field(default="appeal_status_changed", alias="GUANJIA_SMS_TEMPLATE")
    # WeChat's customer-service window after the user's last message.
    window_hours: float = Field(default=48.0, alias="GUANJIA_WECHAT_WINDOW_HOURS")
    max_attempts: int = Field(default=8, ge=1, alias="GUANJIA_FEEDBACK_MAX_ATTEMPTS")
    timeout_s: float = Field(default=10.0, gt=0, alias="GUANJIA_FEEDBACK_TIMEOUT")
    # A delivery left pending (its job lost) this long is picked up by the sweep.
    sweep_after_s: int = Field(default=180, ge=1, alias="GUANJIA_FEEDBACK_SWEEP_AFTER")


@lru_cache(maxsize=1)
def feedback_settings() -> FeedbackSettings:
    """Read once per process."""
    return FeedbackSettings()


class ConversationSettings(BaseSettings):
    """How the official account reads a conversation (issue 16.6)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # A bare photo, voice note, location or file within this many seconds of the sender's last
    # appeal (or of what they last added to it) joins that appeal instead of filing a new one;
    # one sent first waits this long for the appeal it belongs to.
    attach_window_s: int = Field(default=600, ge=0, le=86400, alias="GUANJIA_WECHAT_ATTACH_WINDOW")


@lru_cache(maxsize=1)
def conversation_settings() -> ConversationSettings:
    """Read once per process."""
    return ConversationSettings()
