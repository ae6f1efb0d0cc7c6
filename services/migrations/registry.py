"""Every service's metadata, for Alembic only: services themselves never import each other."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

MODEL_MODULES = (
    "services.gateway.models",
    "intake.models",
    "routing.models",
    "deadlines.models",
    "ledger.models",
    "services.common.reference.store",
)


def all_metadata() -> list[MetaData]:
    """The MetaData of each service that has models."""
    out = []
    for name in MODEL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        out.append(module.Base.metadata)
    return out
