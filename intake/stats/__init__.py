"""Moved to `intake.service.stats`; kept until `intake.duplicates` imports it from there (issue 13)."""
