"""A register file as rows of text: CSV (UTF-8, or GB18030 as Excel in China saves it) or XLSX.

Pure. The first non-empty row is the header; every row keeps its number in the file (the header
is row 1 when it is the first line), so an error names the row a clerk sees in the spreadsheet.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from services.common.errors import DomainError

MAX_ROWS: Final = 5000
MAX_BYTES: Final = 5 * 1024 * 1024
XLSX_MAGIC: Final = b"PK\x03\x04"


class UnreadableFile(DomainError):
    status, code, title = 422, "reference_file_unreadable", "Not a readable CSV or XLSX file"
    message = "文件无法读取：请上传 UTF-8 编码的 CSV 文件或 Excel（.xlsx）文件。"


@dataclass(frozen=True)
class Table:
    """A header and the data rows, each with its row number in the file."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        # A code typed into Excel is a number: 441900121001.0 is the code 441900121001.
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _table(lines: list[tuple[int, list[str]]]) -> Table:
    content = [(n, cells) for n, cells in lines if any(c.strip() for c in cells)]
    if not content:
        raise UnreadableFile("文件为空：第一行须为表头，其下每行一条记录。")
    (_, header), data = content[0], content[1:]
    if len(data) > MAX_ROWS:
        raise UnreadableFile(f"一次最多导入 {MAX_ROWS} 行，请分批导入。")
    return Table(
        [h.strip().lstrip("\ufeff") for h in header], [(n, [c.strip() for c in cells]) for n, cells in data]
    )


def read_csv(data: bytes) -> Table:
    """A CSV file: UTF-8 (with or without BOM), else GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - GB18030 decodes every byte string
        raise UnreadableFile()
    if "\x00" in text:
        raise UnreadableFile()
    reader = csv.reader(io.StringIO(text))
    try:
        return _table([(reader.line_num, row) for row in reader])
    except csv.Error:
        raise UnreadableFile() from None


def read_xlsx(data: bytes) -> Table:
    """The first worksheet of an XLSX workbook (openpyxl, read-only; formulas as last saved)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise UnreadableFile() from None
    try:
        sheet = book.worksheets[0]
        lines = [
            (number, [_cell(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            if number <= MAX_ROWS + 50
        ]
    finally:
        book.close()
    return _table(lines)


def read_table(data: bytes, filename: str | None = None) -> Table:
    """A CSV or XLSX file, told apart by its content (an XLSX is a zip archive)."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile("文件过大（上限 5 MB），请分批导入。")
    if data.startswith(XLSX_MAGIC) or (filename or "").lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)
