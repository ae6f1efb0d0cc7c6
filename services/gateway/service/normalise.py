"""Normalisation of every channel's draft, in one place (DESIGN §4 "Normalisation", §7).

Every channel adapter builds an `AppealDraft` from its own payload and passes it through
`normalise_draft` before it leaves the gateway:
- text: traditional → simplified, full-width → half-width letters and digits, whitespace folded
  (`services.common.text`); line breaks of long text survive as paragraph breaks;
- phone numbers to E.164 (`services.common.personal.normalise_phone`);
- resident ID numbers checked against GB 11643 (check digit, birth date, region);
- town and village from a grid code, the address, the description or coordinates
  (`services.common.reference.locate.resolve_location`), set only when the match is confident;
  codes a member of staff typed are checked against the reference data instead;
- masking for anything shown back (`mask_person`) and for what we keep of a raw body (`redact`).

Pure functions, no I/O. Bad input raises `InvalidInput` subclasses: RFC 9457 422 problems
with a stable `code` and a Chinese `detail` that names the field.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from pydantic import BaseModel

from services.common.crypto import lookup_hash
from services.common.errors import InvalidInput
from services.common.personal import (
    InvalidIdNumber,
    InvalidPhone,
    lenient_phone,
    mask_id_number,
    mask_name,
    mask_numbers,
    mask_phone,
    normalise_phone,
    validate_id_number,
)
from services.common.reference import load_reference
from services.common.reference.locate import LocationMatch, resolve_location
from services.common.text import normalise_text
from services.contracts.appeals import AppealDraft, Location, Reporter

# A match at least this sure sets the codes; below it, routing's triage decides later.
CONFIDENT: Final = 0.5

# How residents read the fields an error may name.
FIELD_LABELS: Final[dict[str, str]] = {
    "reporter": "反映人",
    "on_behalf_of": "代报对象",
}
PII_KEYS: Final[frozenset[str]] = frozenset(
    {"phone", "caller_number", "id_number", "mobile", "telephone", "id_card"}
)
NAME_KEYS: Final[frozenset[str]] = frozenset({"name", "author", "filed_by_name", "host"})


class InvalidIdNumberProblem(InvalidInput):
    code, title = "invalid_id_number", "Resident ID number fails the GB 11643 check"
    message = "身份证号码无效，请核对。"


class InvalidPhoneProblem(InvalidInput):
    code, title = "invalid_phone", "Not a dialable phone number"
    message = "电话号码无效，请核对。"


class UnknownPlace(InvalidInput):
    code, title = "unknown_place", "Town or village not in the reference data"
    message = "找不到该镇街或村（社区），请核对。"


def _label(field: str) -> str:
    return FIELD_LABELS.get(field.split(".", 1)[0], "")


# --- text ----------------------------------------------------------------------------------------


def text(value: str | None) -> str | None:
    """One line of free text in canonical form; empty becomes None."""
    if value is None:
        return None
    out = normalise_text(value)
    return out or None


def paragraphs(value: str | None) -> str | None:
    """Long text in canonical form, one paragraph per non-empty line."""
    if value is None:
        return None
    lines = [normalise_text(line) for line in value.splitlines()]
    out = "\n".join(line for line in lines if line)
    return out or None


# --- personal data -------------------------------------------------------------------------------


def phone(raw: str | None, *, field: str = "phone") -> str | None:
    """A phone number a person typed, as E.164; a number that cannot be dialled is a 422."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        raise InvalidPhoneProblem(
            f"{_label(field)}电话号码无效，请填写11位手机号码或固定电话（外地固定电话请带区号）。",
            field=field,
        ) from None


def id_number(raw: str | None, *, field: str = "id_number") -> str | None:
    """A 居民身份证 number checked against GB 11643, canonical (upper-case X)."""
    if raw is None or not raw.strip():
        return None
    try:
        return validate_id_number(raw)
    except InvalidIdNumber as exc:
        raise InvalidIdNumberProblem(
            f"{_label(field)}{exc.message_zh}。", field=field, reason=exc.reason
        ) from None


def person(who: Reporter, *, field: str, strict_phone: bool = True) -> Reporter:
    """A reporter with name, phone and ID number in canonical form."""
    return who.model_copy(
        update={
            "name": text(who.name),
            "phone": phone(who.phone, field=f"{field}.phone") if strict_phone else lenient_phone(who.phone),
            "id_number": id_number(who.id_number, field=f"{field}.id_number"),
        }
    )


def mask_person(who: Reporter) -> dict[str, Any]:
    """A reporter as it may be shown back: name, phone and ID number masked (DESIGN §7)."""
    return {
        "name": mask_name(who.name) if who.name else None,
        "phone": mask_phone(who.phone) if who.phone else None,
        "id_number": mask_id_number(who.id_number) if who.id_number else None,
        "role": who.role,
    }


def redact(payload: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """A raw body fit to keep: names, phone and ID numbers masked wherever they sit in it, in
    their own fields and inside free text ("电话139 2664 1258" -> "电话139****1258"). Values under
    a key of `keep` (a message's own ids and timestamps, say) are kept as they are."""
    if isinstance(payload, dict):
        out: dict[str, Any] = {}
        for key, value in payload.items():
            if key in keep:
                out[key] = value
            elif isinstance(value, str | int) and not isinstance(value, bool) and key.lower() in PII_KEYS:
                shown = str(value)
                out[key] = mask_id_number(shown) if "id" in key.lower() else mask_phone(shown)
            elif isinstance(value, str) and key.lower() in NAME_KEYS:
                out[key] = mask_name(value)
            else:
                out[key] = redact(value, keep=keep)
        return out
    if isinstance(payload, list):
        return [redact(v, keep=keep) for v in payload]
    if isinstance(payload, str):
        return mask_numbers(payload)
    return payload


def body_digest(payload: Any) -> str:
    """Keyed hash of a parsed body: a replay is recognised, personal data cannot be guessed back."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return lookup_hash(hashlib.sha256(canonical.encode()).hexdigest())


# --- places --------------------------------------------------------------------------------------


def _checked_codes(town_code: str | None, village_code: str | None) -> tuple[str | None, str | None]:
    ref = load_reference()
    town = None
    if town_code:
        town = ref.town_by_code(town_code) or ref.town_by_name(town_code)
        if town is None:
            raise UnknownPlace(f"找不到镇街：{town_code}", field="location.town_code")
    if village_code:
        village = ref.village_by_code(village_code)
        if village is None:
            raise UnknownPlace(f"找不到村（社区）编码：{village_code}", field="location.village_code")
        if town is not None and village.town_code != town.code:
            raise UnknownPlace(
                f"村（社区）{village.name} 不属于镇街 {town.name}，请核对。", field="location.village_code"
            )
        return village.town_code, village.code
    return (town.code if town else None), None


def locate(location: Location, *, context: str | None = None) -> tuple[Location, LocationMatch | None]:
    """The location with its address folded and its town and village settled.

    Codes given by the channel are checked and kept; otherwise they are resolved from the grid
    code, the address, `context` (the description) or the coordinates, when confident.
    """
    address = text(location.address)
    grid = text(location.grid_code)
    town_code, village_code = _checked_codes(location.town_code, location.village_code)
    match: LocationMatch | None = None
    if village_code is None:
        match = resolve_location(
            address, context, lat=location.lat, lng=location.lng, grid_code=grid, datum=location.datum
        )
        usable = match.town_code is not None and match.confidence >= CONFIDENT
        if usable and (town_code is None or match.town_code == town_code):
            town_code, village_code = match.town_code, match.village_code
    return (
        location.model_copy(
            update={
                "address": address,
                "grid_code": grid,
                "town_code": town_code,
                "village_code": village_code,
            }
        ),
        match,
    )


# --- the draft -----------------------------------------------------------------------------------


def normalise_draft(draft: AppealDraft, *, strict_phone: bool = True) -> AppealDraft:
    """The one normalisation every channel's draft goes through before it reaches intake.

    `strict_phone=False` is for numbers no person typed (a hotline's caller id): an undialable
    one is dropped instead of refusing the appeal.
    """
    description = paragraphs(draft.description) or draft.description.strip()
    if not description:
        raise InvalidInput("诉求内容不能为空。", field="description")
    title = text(draft.title)
    location, _ = locate(draft.location, context=" ".join(filter(None, [title, description])))
    return draft.model_copy(
        update={
            "title": title,
            "description": description,
            "transcript": paragraphs(draft.transcript),
            "reporter": person(draft.reporter, field="reporter", strict_phone=strict_phone),
            "on_behalf_of": (
                person(draft.on_behalf_of, field="on_behalf_of", strict_phone=strict_phone)
                if draft.on_behalf_of is not None
                else None
            ),
            "location": location,
            "beneficiary_group": text(draft.beneficiary_group),
            "help_requested": paragraphs(draft.help_requested),
            "category_hint": text(draft.category_hint),
        }
    )
