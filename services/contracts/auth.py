"""Logging in: staff by password, residents by the code of `wx.login` (DESIGN §10)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StaffLogin(BaseModel):
    """Username and password."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    """An OAuth2-style bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class SessionIn(BaseModel):
    """The code from `wx.login`."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=128)


class ResidentToken(BaseModel):
    """Our bearer token for the resident (never WeChat's session_key)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
