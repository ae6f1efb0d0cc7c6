"""Checks across rows and against the reference data, for rows from a file or from JSON. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel

from services.common.reference.loader import Reference
from services.contracts.reference import DonorRow, ReferenceKind, RowError, StationRow, VillageRow

# GB 32100-2015: the 统一社会信用代码's alphabet (no I, O, S, V, Z) and the weights of its check.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_valid(code: str) -> bool:
    """The 18th character of a unified social credit code is its check character."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def _line(row: BaseModel, position: int) -> int:
    line = getattr(row, "line", None)
    return int(line) if line is not None else position + 1


def _village(row: VillageRow, line: int, ref: Reference) -> list[RowError]:
    if ref.town_by_code(row.town_code) is None:
        return [RowError(row=line, column="town_code", message=f"镇街编码 {row.town_code} 不存在")]
    if row.code[:9] != row.town_code[:9] or row.code.endswith("000"):
        return [RowError(row=line, column="code", message=f"编码 {row.code} 不属于镇街 {row.town_code}")]
    return []


def _station(row: StationRow, line: int, ref: Reference) -> list[RowError]:
    if ref.town_by_code(row.town_code) is None:
        return [RowError(row=line, column="town_code", message=f"镇街编码 {row.town_code} 不存在")]
    if row.village_code is not None:
        village = ref.village_by_code(row.village_code)
        if village is None or village.town_code != row.town_code:
            message = f"村（社区）{row.village_code} 不存在或不属于镇街 {row.town_code}"
            return [RowError(row=line, column="village_code", message=message)]
    return []


def _donor(row: DonorRow, line: int, ref: Reference) -> list[RowError]:
    errors = []
    if row.pool == "town" and (row.town_code is None or ref.town_by_code(row.town_code) is None):
        errors.append(RowError(row=line, column="town_code", message="镇街资源库须填写有效的镇街编码"))
    if row.pool == "city" and row.town_code is not None:
        errors.append(RowError(row=line, column="town_code", message="市级资源库不填镇街编码"))
    if row.kind != "individual":
        if row.credit_code is None:
            errors.append(
                RowError(row=line, column="credit_code", message="企业和社会组织须填写统一社会信用代码")
            )
        elif not credit_code_valid(row.credit_code):
            errors.append(RowError(row=line, column="credit_code", message="统一社会信用代码校验位不正确"))
    elif row.credit_code is not None:
        errors.append(RowError(row=line, column="credit_code", message="个人不填统一社会信用代码"))
    return errors


KEYS: Final[dict[ReferenceKind, str]] = {"villages": "code", "stations": "code", "donors": "register_code"}


def check_rows(kind: ReferenceKind, rows: Sequence[BaseModel], ref: Reference) -> list[RowError]:
    """Every error across `rows`: a key given twice, unknown towns and villages, bad credit codes."""
    errors: list[RowError] = []
    first: dict[str, int] = {}
    for position, row in enumerate(rows):
        line = _line(row, position)
        key = str(getattr(row, KEYS[kind]))
        if key in first:
            errors.append(RowError(row=line, column=KEYS[kind], message=f"与第 {first[key]} 行重复：{key}"))
        first.setdefault(key, line)
        if isinstance(row, VillageRow):
            errors.extend(_village(row, line, ref))
        elif isinstance(row, StationRow):
            errors.extend(_station(row, line, ref))
        elif isinstance(row, DonorRow):
            errors.extend(_donor(row, line, ref))
    return errors
