"""Reference data (towns, villages, departments) and location resolution against it."""

from services.common.reference.loader import (
    DONGGUAN_LAT_RANGE,
    DONGGUAN_LNG_RANGE,
    VILLAGE_CSV_COLUMNS,
    Department,
    Place,
    PlaceKind,
    Reference,
    ReferenceDataError,
    Town,
    TownType,
    Village,
    VillageType,
    load_reference,
    load_villages_csv,
    parse_places_csv,
    parse_villages_csv,
)

__all__ = [
    "DONGGUAN_LAT_RANGE",
    "DONGGUAN_LNG_RANGE",
    "VILLAGE_CSV_COLUMNS",
    "Department",
    "Place",
    "PlaceKind",
    "Reference",
    "ReferenceDataError",
    "Town",
    "TownType",
    "Village",
    "VillageType",
    "load_reference",
    "load_villages_csv",
    "parse_places_csv",
    "parse_villages_csv",
]
