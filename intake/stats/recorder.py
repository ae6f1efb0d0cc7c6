"""Moved to `intake.service.stats.recorder`; kept until `intake.duplicates` imports it from there."""

from intake.service.stats.recorder import count, facts_of

__all__ = ["count", "facts_of"]
