"""KPI tables as CSV or XLSX (openpyxl), for the leaders' spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from intake.models import STAT_METRICS

KPI_COLUMNS = (
    "response_rate",
    "on_time_rate",
    "resolution_rate",
    "satisfaction_rate",
    "first_time_rate",
    "duplicate_rate",
    "repeat_rate",
    "unrated_share",
    "average_handling_days",
)
HEADERS_ZH = {
    "response_rate": "响应率",
    "on_time_rate": "按时办结率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
    "first_time_rate": "首次办结率",
    "duplicate_rate": "重复率",
    "repeat_rate": "重复诉求率",
    "unrated_share": "未评价占比",
    "average_handling_days": "平均办理天数",
    "received": "受理量",
    "completed": "办结量",
    "closed": "归档量",
}


def table(rows: Sequence[dict[str, object]]) -> tuple[list[str], list[list[object]]]:
    """(header, rows): the breakdown value, every KPI, then every counter."""
    header = ["dim_value", *(f"{HEADERS_ZH.get(k, k)} {k}" for k in KPI_COLUMNS), *STAT_METRICS]
    body: list[list[object]] = []
    for r in rows:
        kpis = r["kpis"]
        counts = r["counts"]
        assert isinstance(kpis, dict) and isinstance(counts, dict)
        body.append(
            [r["dim_value"], *(kpis.get(k) for k in KPI_COLUMNS), *(counts.get(m, 0) for m in STAT_METRICS)]
        )
    return header, body


def to_csv(rows: Sequence[dict[str, object]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese headers right."""
    header, body = table(rows)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in body)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[dict[str, object]], title: str = "KPI") -> bytes:
    """One sheet, the same columns as the CSV."""
    from openpyxl import Workbook

    header, body = table(rows)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(header)
    for row in body:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
