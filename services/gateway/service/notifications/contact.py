"""Where a member of staff's own notifications are pushed (issue 16.2): a mobile for SMS, kept only
encrypted (as `guanjia staff create --phone` keeps it), and a mini-program openid. Each member sets
their own; the answer is masked, so a stolen token does not read the number back."""

from __future__ import annotations

import uuid

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.crypto import decrypt_pii, encrypt_pii
from services.common.errors import NotFound
from services.common.personal import InvalidPhone, mask_phone, normalise_phone
from services.contracts.worklist import StaffContact, StaffContactIn
from services.gateway.models import StaffAccount
from services.gateway.service.feedback.plan import mask_openid
from services.gateway.service.normalise import InvalidPhoneProblem

# A push goes by SMS: a landline would take the number and never receive a notice.
TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
NOT_MOBILE = "请填写可以接收短信的11位手机号码。"


def textable_phone(raw: str) -> str:
    """A mobile number as E.164, or a 422 `invalid_phone`."""
    try:
        phone = normalise_phone(raw)
    except InvalidPhone:
        raise InvalidPhoneProblem(NOT_MOBILE, field="phone") from None
    if phonenumbers.number_type(phonenumbers.parse(phone)) not in TEXTABLE:
        raise InvalidPhoneProblem(NOT_MOBILE, field="phone")
    return phone


async def _own(session: AsyncSession, principal: Principal) -> StaffAccount:
    try:
        staff_id = uuid.UUID(principal.staff_id)
    except ValueError:
        raise NotFound() from None
    account = await session.get(StaffAccount, staff_id, with_for_update=True)
    if account is None or not account.active:
        raise NotFound()
    return account


def _shown(account: StaffAccount) -> StaffContact:
    return StaffContact(
        phone_masked=mask_phone(decrypt_pii(account.phone_enc)) if account.phone_enc else None,
        openid_masked=mask_openid(account.openid) if account.openid else None,
    )


async def contact_of(session: AsyncSession, principal: Principal) -> StaffContact:
    """One's own push channels, masked."""
    return _shown(await _own(session, principal))


async def set_contact(session: AsyncSession, principal: Principal, body: StaffContactIn) -> StaffContact:
    """Replace one's own push channels (null clears one). The phone is checked before anything is
    written: a bad number changes nothing."""
    phone = textable_phone(body.phone) if body.phone is not None else None
    account = await _own(session, principal)
    account.phone_enc = encrypt_pii(phone) if phone else None
    account.openid = body.openid
    await session.flush()
    return _shown(account)


__all__ = ["contact_of", "set_contact", "textable_phone"]
