"""Intake's internal REST routes, one module per concern (thin: parse, check, call, shape)."""
