"""Routing's request and response models, one module per concern."""
