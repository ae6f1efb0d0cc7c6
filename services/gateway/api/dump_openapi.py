"""`python -m services.gateway.api.dump_openapi OUT.json`: the gateway's document, without a server.

Apart from `services.gateway.api.openapi` (which the app itself uses to complete its document), so
that the app and the document builder do not import each other.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from services.gateway.api.app import app
from services.gateway.api.openapi import untyped_operations


def main(argv: list[str] | None = None) -> int:
    """Write the gateway's document (no server
    needed) and fail when an operation is untyped, so CI proves the contract before generating a
    client from it."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "build/openapi.json")
    doc = app.openapi()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    untyped = untyped_operations(doc)
    for line in untyped:
        print(f"untyped: {line}", file=sys.stderr)
    print(f"{out}: {sum(len(item) for item in doc['paths'].values())} operations, {len(untyped)} untyped")
    return 1 if untyped else 0


if __name__ == "__main__":
    raise SystemExit(main())
