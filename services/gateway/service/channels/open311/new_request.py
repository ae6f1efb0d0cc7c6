"""Creating a request: POST requests' parameters checked, and mapped to an `AppealDraft`.

The form is GeoReport's (form-encoded, `attribute[...]` for our attributes); the draft is an
appeal of the portal channel (`web_portal`) marked `"via": "open311"` in channel_extra, its
e-mail kept encrypted and shown masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from services.common.crypto import encrypt_pii_text
from services.common.personal import mask_email
from services.common.reference import load_reference
from services.contracts.appeals import AppealDraft, Location, Reporter
from services.contracts.vocabulary import URGENCIES
from services.gateway.service.channels.open311.catalogue import SERVICES_BY_CODE, Service
from services.gateway.service.channels.open311.documents import Open311Error

MAX_DESCRIPTION: Final = 4000


@dataclass(frozen=True)
class NewRequest:
    """The parameters of POST requests, checked."""

    service: Service
    lat: float | None
    lng: float | None
    address: str | None
    address_id: str | None
    description: str
    media_url: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    device_id: str | None
    account_id: str | None
    attributes: dict[str, str]


def _text(form: Mapping[str, str], name: str, limit: int) -> str | None:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return value or None


def _coordinate(form: Mapping[str, str], name: str, bound: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} is out of range")
    return value


_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]{1,40})\]$")


def parse_new_request(form: Mapping[str, str]) -> NewRequest:
    """Check POST requests' parameters (GeoReport names, form-encoded)."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    service = SERVICES_BY_CODE.get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code} was not found")
    lat, lng = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long must be given together")
    address, address_id = _text(form, "address_string", 300), _text(form, "address_id", 64)
    if lat is None and address is None and address_id is None:
        raise Open311Error(400, "a location is required: lat/long, address_string or address_id")
    description = _text(form, "description", MAX_DESCRIPTION)
    if description is None:
        raise Open311Error(400, "description was not provided")
    media_url = _text(form, "media_url", 500)
    if media_url is not None and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    attributes = {
        m.group(1): str(v).strip() for k, v in form.items() if (m := _ATTRIBUTE.match(k)) and str(v).strip()
    }
    return NewRequest(
        service=service,
        lat=lat,
        lng=lng,
        address=address,
        address_id=address_id,
        description=description,
        media_url=media_url,
        first_name=_text(form, "first_name", 25),
        last_name=_text(form, "last_name", 25),
        phone=_text(form, "phone", 30),
        email=_text(form, "email", 120),
        device_id=_text(form, "device_id", 64),
        account_id=_text(form, "account_id", 64),
        attributes=attributes,
    )


def _int_attribute(attributes: Mapping[str, str], name: str) -> int | None:
    raw = attributes.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"attribute[{name}] is not a number") from None
    if value < 0 or value > 1e9:
        raise Open311Error(400, f"attribute[{name}] is out of range")
    return int(value)


def to_draft(req: NewRequest, channel_ref: str, client_name: str) -> AppealDraft:
    """The request as an appeal of the portal channel, marked as coming through Open311."""
    attrs = req.attributes
    urgency = attrs.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise Open311Error(400, "attribute[urgency] must be normal, urgent or emergency")
    town = attrs.get("town")
    if town is not None and load_reference().town_by_code(town) is None:
        raise Open311Error(400, f"attribute[town] {town} is not a town code of services/{req.service.code}")
    amount = _int_attribute(attrs, "estimated_amount_yuan")
    hukou = {"yes": True, "no": False}.get(attrs.get("hukou_local", ""))
    name = "".join(filter(None, [req.last_name, req.first_name])) or None
    return AppealDraft(
        channel="web_portal",
        channel_ref=channel_ref,
        reporter=Reporter(name=name, phone=req.phone, hukou_local=hukou, role="resident"),
        description=req.description,
        location=Location(address=req.address, town_code=town, lat=req.lat, lng=req.lng, datum="wgs84"),
        beneficiary_count=_int_attribute(attrs, "beneficiary_count"),
        estimated_amount_fen=amount * 100 if amount is not None else None,
        urgency=urgency,
        category_hint=req.service.code,
        channel_extra={
            "via": "open311",
            "open311": {
                "client": client_name,
                "service_code": req.service.code,
                "address_id": req.address_id,
                "media_url": req.media_url,
                # An e-mail is personal data: kept encrypted, shown masked (issue 15).
                "email_masked": mask_email(req.email) if req.email else None,
                "email_enc": encrypt_pii_text(req.email) if req.email else None,
                "device_id": req.device_id,
                "account_id": req.account_id,
                "attributes": attrs,
            },
        },
    )
