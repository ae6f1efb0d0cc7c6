"""Moved to `intake.service.privacy`; kept until `intake.duplicates` imports it from there (issue 13)."""

from intake.service.privacy import PERSON_RE

__all__ = ["PERSON_RE"]
