"""Routing's domain logic, one module per concern; services flush, never commit."""
