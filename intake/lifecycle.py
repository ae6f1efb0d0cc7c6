"""Moved to `intake.service.lifecycle`; kept until `intake.duplicates` imports it from there (issue 13)."""

from intake.service.lifecycle import ACTIVE, MERGEABLE, Status, can_unmerge

__all__ = ["ACTIVE", "MERGEABLE", "Status", "can_unmerge"]
