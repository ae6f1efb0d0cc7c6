"""Reading requests: an appeal's public status as a GeoReport request, fit for the public.

Descriptions have their personal data masked; GeoReport knows only open and closed; the
expected date is the earliest pending handling deadline; a micro-wish concerns a family, so its
place and words stay private.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from services.common.personal import mask_name
from services.common.public_text import public_text
from services.common.timeutil import to_local
from services.contracts.appeals import PublicAppeal
from services.contracts.disclosure import DisclosedAppeal
from services.gateway.service.channels.open311.catalogue import SERVICES_BY_CODE
from services.gateway.service.channels.open311.new_request import MAX_DESCRIPTION

CLOSED_STATES: Final = frozenset({"completed", "closed", "rejected", "merged", "withdrawn"})
PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 200
MAX_REQUESTS: Final = 1000

# Seven or more digits, also when written with spaces, dashes or dots between them ("139 2345 6789").
_LONG_DIGITS = re.compile(r"\d(?:[\s.\-]?\d){6,}")


def _mask_digits(number: str) -> str:
    kept = 0
    out = []
    for ch in number:
        if ch.isdigit():
            kept += 1
            out.append(ch if kept <= 3 else "*")
        else:
            out.append(ch)
    return "".join(out)


def public_description(text: str, names: Sequence[str | None] = ()) -> str:
    """A description fit for the public: long digit runs (phone, ID numbers) and the reporter's own
    name masked, then every other form of personal data `services.common.public_text` finds (names
    by context and surname, numbers in Chinese numerals, WeChat and QQ ids, plates, e-mail)."""
    out = _LONG_DIGITS.sub(lambda m: _mask_digits(m.group(0)), text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return public_text(out)[:MAX_DESCRIPTION]


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in Dongguan's local time."""
    return to_local(value).isoformat(timespec="seconds") if value is not None else None


def open_or_closed(status: str) -> Literal["open", "closed"]:
    """GeoReport knows two states."""
    return "closed" if status in CLOSED_STATES else "open"


def expected_at(appeal: PublicAppeal | DisclosedAppeal) -> datetime | None:
    """When the appeal should be done: the earliest pending handling deadline."""
    pending = [
        d.due_at
        for d in appeal.deadlines
        if d.due_at is not None
        and d.state in ("running", "paused", "overdue")
        and d.clock not in ("triage", "sign_off")
    ]
    return min(pending) if pending else None


@dataclass(frozen=True)
class RequestView:
    """What GET requests shows of one request."""

    service_request_id: str
    service_code: str
    status: str
    status_notes: str | None
    category: str | None
    requested_at: datetime
    updated_at: datetime | None
    expected_at: datetime | None
    address: str | None
    lat: float | None
    lng: float | None
    description: str | None
    media_url: str | None


def disclosed_view(item: DisclosedAppeal) -> RequestView | None:
    """A publicly disclosed appeal from any channel as a GeoReport request (None when its category
    is no Open311 service). Its words were already made public-safe by disclosure."""
    if item.category not in SERVICES_BY_CODE:
        return None
    ended = item.closed_at or item.completed_at
    return RequestView(
        service_request_id=item.ticket_no,
        service_code=item.category,
        status=item.status,
        status_notes=item.progress[:300] if item.progress else None,
        category=item.category,
        requested_at=item.received_at,
        updated_at=ended or item.received_at,
        expected_at=expected_at(item),
        address=item.address,
        lat=None,
        lng=None,
        description=item.description,
        media_url=None,
    )


def request_doc(view: RequestView) -> dict[str, Any]:
    """A GeoReport request. Micro-wishes concern a family: their place and words stay private."""
    code = view.category if view.category in SERVICES_BY_CODE else view.service_code
    service = SERVICES_BY_CODE[code]
    public_place = service.kind == "micro_project"
    return {
        "service_request_id": view.service_request_id,
        "status": open_or_closed(view.status),
        "status_notes": view.status_notes,
        "service_name": service.name,
        "service_code": service.code,
        "description": public_description(view.description) if public_place and view.description else None,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": iso(view.requested_at),
        "updated_datetime": iso(view.updated_at),
        "expected_datetime": iso(view.expected_at),
        "address": view.address if public_place else None,
        "address_id": None,
        "zipcode": None,
        "lat": view.lat if public_place else None,
        "long": view.lng if public_place else None,
        "media_url": view.media_url if public_place else None,
    }
