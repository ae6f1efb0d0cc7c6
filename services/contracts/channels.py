"""What the gateway answers a channel that files an appeal: the ticket, and what normalisation made of
the filing, masked (DESIGN §4, §7); and a stored photo of the mini-program."""

from __future__ import annotations

from pydantic import BaseModel

from services.contracts.appeals import AppealAccepted


class MaskedPerson(BaseModel):
    """A person as shown back: masked (DESIGN §7)."""

    name: str | None
    phone: str | None
    id_number: str | None
    role: str


class StaffFiled(AppealAccepted):
    """The ticket, and what normalisation made of the filing, masked."""

    town_code: str | None
    village_code: str | None
    reporter: MaskedPerson
    on_behalf_of: MaskedPerson | None


class MinutesFiled(BaseModel):
    """Every appeal of a meeting's minutes, in the order of its items."""

    appeals: list[StaffFiled]


class MediaOut(BaseModel):
    """A stored photo; put `media_id` in an appeal's `photos`."""

    media_id: str
    media_type: str
    size_bytes: int
