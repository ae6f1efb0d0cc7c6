"""`/api/v1/reference`: the city's registers imported in bulk by city staff (issue 16.12).

- `POST /api/v1/reference/{villages|stations|donors}`: typed JSON rows (rows of the gateway's
  table, forwarded to routing, which applies them);
- `POST /api/v1/reference/{kind}/file`: the register as a file — CSV (UTF-8 or GB18030) or
  XLSX — as multipart field `file` or as the raw body; parsed and checked here (every error by
  row, column and a Chinese message), then applied like the JSON rows.
All or nothing; idempotent (the same file again changes nothing); `dry_run=true` only checks.
New donors' keys are shown once; a donors import sent with an `Idempotency-Key` (JSON rows or file)
answers a retry under that key with the first report, the keys included.
"""

from __future__ import annotations

from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Header, Query, Request, Response
from starlette.datastructures import UploadFile

from services.common.auth import Principal
from services.common.errors import (
    Forbidden,
    InvalidInput,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.common.reference import load_reference
from services.common.reference import store as reference_store
from services.common.reference.importing import ConcurrentImport, RowsInvalid, UnreadableFile, parse_file
from services.common.reference.importing.table import MAX_BYTES
from services.contracts.reference import (
    DonorImport,
    ImportReport,
    ReferenceKind,
    StationImport,
    VillageImport,
)
from services.gateway.api.table import Forward, mount, roles_dependency
from services.gateway.errors import UnsupportedContentType
from services.gateway.service.client import call, relay_response

router = APIRouter(prefix="/api/v1/reference", tags=["reference registers"])
log = structlog.get_logger(__name__)
R: Final = "/api/v1/reference"
CITY: Final = ("city_admin",)
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Uploads and JSON rows of a whole register: more than the gateway's default body cap.
BODY_LIMITS: Final = {
    **{f"{R}/{kind}": MAX_BYTES for kind in ("villages", "stations", "donors")},
    **{f"{R}/{kind}/file": MAX_BYTES + 64 * 1024 for kind in ("villages", "stations", "donors")},
}
ERRORS: Final = (RowsInvalid, ConcurrentImport)

ROWS = [
    Forward("POST", f"{R}/villages", "routing", "/internal/reference/villages", ImportReport,
            "Import villages and communities (村/社区) as JSON rows: all or none, idempotent",
            roles=CITY, body=VillageImport, errors=ERRORS),
    Forward("POST", f"{R}/stations", "routing", "/internal/reference/stations", ImportReport,
            "Import service stations (莞家驿站) as JSON rows: all or none, idempotent",
            roles=CITY, body=StationImport, errors=ERRORS),
    Forward("POST", f"{R}/donors", "routing", "/internal/reference/donors", ImportReport,
            "Import donors (爱心资源库) as JSON rows: all or none, idempotent; new donors' keys shown once "
            "(with an Idempotency-Key, a retry after a lost answer gets the first report, keys included)",
            roles=CITY, body=DonorImport, errors=ERRORS, idempotency="optional"),
]  # fmt: skip
mount(router, ROWS)


async def _upload(request: Request) -> tuple[bytes, str | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=3, max_part_size=MAX_BYTES) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("缺少文件（字段名 file）。", field="file")
            return await upload.read(), upload.filename
    if content_type.startswith(("text/csv", XLSX, "application/octet-stream")):
        return await request.body(), "upload.xlsx" if content_type.startswith(XLSX) else None
    raise UnsupportedContentType("请以 multipart/form-data（字段 file）、text/csv 或 xlsx 格式上传。")


@router.post(
    "/{kind}/file",
    response_model=ImportReport,
    summary="Import a register file (CSV or XLSX): all or none, idempotent; errors by row and column",
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        RowsInvalid,
        ConcurrentImport,
        UnreadableFile,
        UnsupportedContentType,
        InvalidInput,
        ServiceUnavailable,
    ),
    openapi_extra={
        "x-roles": list(CITY),
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
)
async def import_file(
    kind: ReferenceKind,
    request: Request,
    principal: Annotated[Principal, roles_dependency(CITY, write=True)],
    dry_run: Annotated[bool, Query(description="only check the file; write nothing")] = False,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=128,
            description="donors: a retry under the same key answers the first report, new keys included",
        ),
    ] = None,
) -> Response:
    data, filename = await _upload(request)
    if not data:
        raise UnreadableFile("文件为空。")
    try:
        await reference_store.refresh()  # villages imported a moment ago count
    except Exception as exc:
        # The periodic refresh has the last word; check with what this process has.
        log.warning("reference_refresh_failed", error=repr(exc))
    rows = parse_file(kind, data, load_reference(), filename)
    body = {"rows": [row.model_dump(mode="json") for row in rows], "dry_run": dry_run}
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key and kind == "donors" else None
    upstream = await call(
        "routing", "POST", f"/internal/reference/{kind}", json=body, actor=principal, headers=headers
    )
    if kind == "villages" and upstream.status_code == 200 and not dry_run:
        # This gateway places appeals in the new villages at once; the others within the refresh.
        try:
            await reference_store.refresh()
        except Exception as exc:
            log.warning("reference_refresh_failed", error=repr(exc))
    return relay_response(upstream)


__all__ = ["BODY_LIMITS", "ROWS", "router"]
