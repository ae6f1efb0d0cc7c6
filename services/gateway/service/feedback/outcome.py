"""What one attempt to send came to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Result = Literal["delivered", "refused", "failed", "retry", "window_closed", "unknown"]


@dataclass(frozen=True)
class Outcome:
    """`retry` is transient; `unknown` means it may have been sent (never sent again)."""

    result: Result
    http_status: int | None = None
    errcode: int | None = None
    detail: str = ""
