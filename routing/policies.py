"""Moved to `routing.service.policies` (taxonomy: `services.contracts.vocabulary`); kept until the
classifier's imports point there (issue 13)."""

from routing.service.policies import SEED_CATALOGUE, Catalogue
from services.contracts.vocabulary import CATEGORIES_BY_KIND, Category, Kind

__all__ = ["CATEGORIES_BY_KIND", "SEED_CATALOGUE", "Catalogue", "Category", "Kind"]
