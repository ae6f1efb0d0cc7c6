"""Bulk import of the city's registers (issue 16.12), the pure part: a CSV or XLSX file (or JSON
rows) to typed rows, or every error in it by row, column and a Chinese message.

Applying the rows is the owner's business: villages are the shared kernel's table
(`services.common.reference.store`), stations and donors routing's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from services.common.errors import Conflict, DomainError
from services.common.reference.importing.checks import check_rows, credit_code_valid
from services.common.reference.importing.rows import MODELS, to_rows
from services.common.reference.importing.table import Table, UnreadableFile, read_table
from services.common.reference.loader import Reference
from services.contracts.reference import ReferenceKind, RowError

__all__ = [
    "MODELS",
    "ConcurrentImport",
    "RowsInvalid",
    "Table",
    "UnreadableFile",
    "check_rows",
    "credit_code_valid",
    "parse_file",
    "read_table",
    "to_rows",
    "validate_rows",
]


class RowsInvalid(DomainError):
    """Some rows are wrong: nothing was written; `errors` names each by row, column and reason."""

    status, code, title = 422, "reference_rows_invalid", "Rows of the register are invalid"

    def __init__(self, errors: Sequence[RowError]) -> None:
        listed = sorted(errors, key=lambda e: (e.row, e.column or ""))
        first = listed[0]
        where = f"第 {first.row} 行" + (f"「{first.column}」列" if first.column else "")
        super().__init__(
            f"共 {len(listed)} 处错误，未导入任何数据。{where}：{first.message}",
            errors=[e.model_dump() for e in listed],
        )


class ConcurrentImport(Conflict):
    """Another import wrote the same new rows first: this one wrote nothing; run it again."""

    code, title = "reference_import_concurrent", "Another import wrote the same rows first"
    message = "另一项导入刚刚写入了相同的记录，本次未导入任何数据，请重新导入。"


def validate_rows(kind: ReferenceKind, rows: Sequence[BaseModel], ref: Reference) -> None:
    """Raise `RowsInvalid` with every cross-row and reference error of already typed rows."""
    errors = check_rows(kind, rows, ref)
    if errors:
        raise RowsInvalid(errors)


def parse_file(kind: ReferenceKind, data: bytes, ref: Reference, filename: str | None = None) -> list[Any]:
    """The typed rows of a register file, or `RowsInvalid` with every error in it."""
    rows, errors = to_rows(kind, read_table(data, filename), ref)
    errors += check_rows(kind, rows, ref)
    if errors:
        raise RowsInvalid(errors)
    return rows
