"""Dependencies of routing's internal routes: who acts (the staff the gateway verified).

The one actor dependency is the kernel's (`services.common.auth`); these are its names here.
"""

from __future__ import annotations

from services.common.auth import MaybeStaffActor, StaffActor

Actor = StaffActor
"""A member of staff, as the gateway verified them; 401 without one."""
MaybeActor = MaybeStaffActor
"""A member of staff, or None for a call the gateway made on a resident's or donor's behalf."""

__all__ = ["Actor", "MaybeActor"]
