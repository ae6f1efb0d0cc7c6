"""Rows of a register file as typed rows (`services.contracts.reference`), or their errors.

Pure. Cells are read as a clerk writes them (社区 / 村, 企业 / 个人, 市级 / 镇街, 是 / 否,
category names in Chinese, lists split on | 、 ，；), then validated by the contract's model;
every problem is reported with its row number, column and a Chinese message.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from services.common.reference.importing.columns import (
    CATEGORY_BY_NAME,
    COLUMNS,
    DONOR_KINDS,
    FALSE_WORDS,
    POOLS,
    TEAM_ROLES,
    TRUE_WORDS,
    VILLAGE_TYPES,
    header_map,
)
from services.common.reference.importing.table import Table
from services.common.reference.loader import Reference
from services.contracts.reference import DonorRow, ReferenceKind, RowError, StationRow, VillageRow

MODELS: dict[ReferenceKind, type[BaseModel]] = {
    "villages": VillageRow,
    "stations": StationRow,
    "donors": DonorRow,
}
_SPLIT = re.compile(r"[|、，,；;]")
_CODE = re.compile(r"^4419\d{8}$")


class CellError(ValueError):
    """A cell that cannot be read; the message is Chinese."""


def _list(value: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(value) if part.strip()]


def _choice(value: str, words: dict[str, str], label: str) -> str:
    found = words.get(value.strip()) or words.get(value.strip().lower())
    if found is None:
        allowed = "、".join(k for k in words if not k.isascii())
        raise CellError(f"{label}「{value}」无法识别，应为：{allowed}")
    return found


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"「{value}」应为 是 或 否")


def _town(value: str, ref: Reference) -> str:
    # A clerk may write the town's name (虎门 / 虎门镇) where its code belongs.
    if _CODE.match(value):
        return value
    town = ref.town_by_name(value)
    if town is None:
        raise CellError(f"找不到镇街「{value}」")
    return town.code


def _team(value: str) -> list[dict[str, Any]]:
    members = []
    for entry in [e.strip() for e in value.split("|") if e.strip()]:
        parts = [p.strip() for p in re.split(r"[:：]", entry)]
        if len(parts) not in (2, 3) or not parts[1]:
            raise CellError(f"团队成员「{entry}」应写作 角色:名称[:人数]，多个用 | 分隔")
        role = _choice(parts[0], TEAM_ROLES, "团队角色")
        count = parts[2] if len(parts) == 3 else "1"
        if not count.isdigit():
            raise CellError(f"团队成员「{entry}」的人数须为整数")
        members.append({"role": role, "name": parts[1], "count": int(count)})
    return members


def _convert(kind: ReferenceKind, column: str, value: str, ref: Reference) -> Any:
    if column in ("town_code",):
        return _town(value, ref)
    if kind == "villages" and column == "type":
        return _choice(value, VILLAGE_TYPES, "类型")
    if kind == "villages" and column == "aliases":
        return _list(value)
    if kind == "stations" and column == "services":
        return [_choice(v, CATEGORY_BY_NAME, "服务类别") for v in _list(value)]
    if kind == "stations" and column == "team":
        return _team(value)
    if kind == "stations" and column == "active":
        return _flag(value)
    if kind == "donors" and column == "kind":
        return _choice(value, DONOR_KINDS, "类型")
    if kind == "donors" and column == "pool":
        return _choice(value, POOLS, "资源库")
    if kind == "donors" and column == "credit_code":
        return value.upper()
    return value


_MESSAGES = {
    "missing": "不能为空",
    "string_too_short": "不能为空或过短",
    "string_too_long": "过长",
    "string_pattern_mismatch": "格式不正确",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "greater_than_equal": "超出东莞市范围",
    "less_than_equal": "超出东莞市范围",
    "literal_error": "取值无法识别",
    "too_short": "不能为空",
    "too_long": "条目过多",
}


def model_errors(exc: ValidationError, kind: ReferenceKind, line: int) -> list[RowError]:
    """A model's validation errors as row errors with Chinese messages."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        column = str(err["loc"][0]) if err["loc"] else None
        label = COLUMNS[kind].get(column or "", (column or "", False, ()))[0]
        reason = _MESSAGES.get(err["type"], "取值不正确")
        out.append(RowError(row=line, column=column, message=f"{label}{reason}"))
    return out


def to_rows(kind: ReferenceKind, table: Table, ref: Reference) -> tuple[list[BaseModel], list[RowError]]:
    """Typed rows of `table`, and every error found (header, cells, the model's checks)."""
    index, problems = header_map(kind, table.header)
    if problems:
        return [], [RowError(row=1, column=None, message=p) for p in problems]
    model = MODELS[kind]
    rows: list[BaseModel] = []
    errors: list[RowError] = []
    for line, cells in table.rows:
        values: dict[str, Any] = {"line": line}
        failed: set[str] = set()
        for column, position in index.items():
            raw = cells[position] if position < len(cells) else ""
            if not raw:
                continue
            try:
                values[column] = _convert(kind, column, raw, ref)
            except CellError as exc:
                errors.append(RowError(row=line, column=column, message=str(exc)))
                failed.add(column)
        try:
            row = model.model_validate(values)
        except ValidationError as exc:
            # A cell already reported is not reported again as missing.
            errors.extend(e for e in model_errors(exc, kind, line) if e.column not in failed)
            continue
        if not failed:
            rows.append(row)
    return rows, errors
