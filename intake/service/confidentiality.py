"""保密 and audited reveals (DESIGN §7): reporters as each member of staff may see them.

- Everywhere: phone and ID numbers masked (`138****5678`, `4419**********123X`).
- A confidential or anonymous reporter's name never shows; to the unit the appeal complains
  about (and to departments and stations, who handle but do not need to know who filed) a
  confidential reporter is not shown at all.
- Numbers a reporter wrote in the appeal's words are stored masked in the text and encrypted in
  `intake.quoted_numbers`; they are revealed the same way (`quoted_phone` / `quoted_id_number`,
  by their order of appearance), for roles that may reveal every person of the appeal.
- To whoever sees a reporter `hidden`, the appeal's own words do not name them either (issue 15.3:
  "我是赵丽华" in the description): title, description and address reach that reader through the
  public-text filter (`services.common.public_text`: names, numbers in any form, WeChat/QQ ids,
  e-mail, plates, house numbers), with every name the appeal's people gave masked as well
  (`words_for`). So do the resident's own words on the staff timeline and in the archive (a
  补充材料 note, a voice transcript, a withdrawal reason), and the exact coordinates a resident
  sent reach that reader rounded to about a kilometre (`timeline_reason`).
- Naming the unit complained about (`note_complaint`) tells routing (`appeal.complaint_noted`),
  which never lets that unit hold the appeal.
- A full phone number, ID number or withheld name leaves intake only through `reveal`, for the
  roles that need it (`access.may_reveal`), with a reason, and every reveal is a row in
  `intake.reveal_audit` (who, when, which appeal, which fields, why) — as is every call of the
  gateway's contacts endpoint (actor `service:<caller>`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, QuotedNumber, Reporter, RevealAudit, messaging
from intake.schemas import AuditEntry, QuotedNumberView, ReporterView, Revealed, RevealField
from intake.service import access
from services.common.auth import Principal
from services.common.crypto import decrypt_pii
from services.common.errors import Forbidden, NotFound
from services.common.messaging import emit, utcnow
from services.common.personal import mask_numbers
from services.common.public_text import public_text
from services.contracts.events import ComplaintNoted, make_event

QUOTED_KINDS: dict[str, str] = {"quoted_phone": "phone", "quoted_id_number": "id_number"}


def view(principal: Principal, appeal: Appeal, person: Reporter) -> ReporterView:
    """One reporter for one member of staff."""
    if access.identity_view(principal, appeal, person) == "hidden":
        return ReporterView(
            relation=person.relation,
            name=None,
            phone=None,
            id_number=None,
            anonymous=person.anonymous,
            confidential=person.confidential,
            role=person.role,
            hidden=True,
        )
    return ReporterView(
        relation=person.relation,
        name=person.name if access.shows_name(principal, appeal, person) else None,
        phone=person.phone_masked,
        id_number=person.id_number_masked,
        anonymous=person.anonymous,
        confidential=person.confidential,
        role=person.role,
    )


@dataclass(frozen=True)
class Words:
    """The appeal's own words as one reader may read them."""

    title: str | None
    description: str
    address: str | None


_NAME_MASK = "某某"


# A number intake stored masked in the words ("139****7315", "4419**********123X"): its first and
# last digits still point to a person, so a reader the reporter is hidden from sees none of it.
_MASKED_NUMBER = re.compile(r"\+?[0-9]*\*{2,}[0-9Xx]*")


def _unname(text: str | None, names: Sequence[str], *, house_numbers: bool = False) -> str | None:
    if text is None:
        return None
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, _NAME_MASK)
    return _MASKED_NUMBER.sub("***", public_text(text, house_numbers=house_numbers))


def _hidden_from(principal: Principal, appeal: Appeal, people: Sequence[Reporter]) -> bool:
    return any(access.identity_view(principal, appeal, p) == "hidden" for p in people)


def _names(people: Sequence[Reporter]) -> list[str]:
    # Every person's name, not only the hidden one's: a family member's name points to the reporter.
    return [p.name for p in people if p.name and len(p.name) >= 2]


# Timeline actors whose reason is the resident's own text (`intake.service.additions`,
# resident withdrawals and ratings).
RESIDENT_ACTORS: tuple[str, ...] = ("reporter:", "resident:")
# "22.812345,113.751234": a resident's exact position, as `intake.service.additions` writes it.
_COORDINATES = re.compile(r"(?<![0-9.])(-?\d{1,3}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)(?![0-9])")


def _blur(match: re.Match[str]) -> str:
    # Two decimals is about a kilometre: where the matter is, not which door the reporter opened.
    return f"{float(match.group(1)):.2f},{float(match.group(2)):.2f}"


def text_for(
    principal: Principal, appeal: Appeal, people: Sequence[Reporter], text: str | None, *, resident: bool
) -> str | None:
    """Free text about the appeal for this reader: as written, unless a reporter is hidden from
    them; then a resident's own words go through the same unnaming as the description (house
    numbers too: a note says where the reporter lives) with coordinates rounded, and staff's words
    lose the names of the appeal's people and every phone or ID number."""
    if text is None or not _hidden_from(principal, appeal, people):
        return text
    names = _names(people)
    if resident:
        # Around the coordinates, not through them: a house number's pattern would eat their digits.
        pieces, last = [], 0
        for point in _COORDINATES.finditer(text):
            before = _unname(text[last : point.start()], names, house_numbers=True) or ""
            pieces += [before, (" " if before[-1:].isalnum() or before.endswith("*") else "") + _blur(point)]
            last = point.end()
        return "".join([*pieces, _unname(text[last:], names, house_numbers=True) or ""])
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, _NAME_MASK)
    return _MASKED_NUMBER.sub("***", mask_numbers(text))


def timeline_reason(
    principal: Principal, appeal: Appeal, people: Sequence[Reporter], actor: str, reason: str | None
) -> str | None:
    """A timeline row's reason for this reader (`text_for`; a resident's when its actor is one)."""
    return text_for(principal, appeal, people, reason, resident=actor.startswith(RESIDENT_ACTORS))


def words_for(principal: Principal, appeal: Appeal, people: Sequence[Reporter]) -> Words:
    """Title, description and address for this reader: as written, unless a reporter is hidden
    from them (保密, or anonymous to the unit complained about); then no name, number, id or
    house number of anyone survives in them (failing safe: a doubtful sentence is withheld)."""
    if not _hidden_from(principal, appeal, people):
        return Words(appeal.title, appeal.description, appeal.address)
    names = _names(people)
    return Words(
        title=_unname(appeal.title, names),
        description=_unname(appeal.description, names) or "",
        address=_unname(appeal.address, names, house_numbers=True),
    )


async def quoted_numbers_for(
    session: AsyncSession, principal: Principal, appeal: Appeal, people: Sequence[Reporter]
) -> list[QuotedNumberView]:
    """The numbers written in the words, masked; none at all for a reader a reporter is hidden
    from (even a masked number's first and last digits point to a person)."""
    if any(access.identity_view(principal, appeal, p) == "hidden" for p in people):
        return []
    return await quoted_numbers_of(session, appeal)


async def archive_for(
    session: AsyncSession, principal: Principal, appeal: Appeal, record: dict[str, Any]
) -> dict[str, Any]:
    """An archive record (`intake.service.archive.record`) as this reader may read it: the words
    through `words_for`, the timeline's reasons and return visits' comments through `text_for`, and
    a reporter hidden from them reduced to relation and role."""
    people = await reporters_of(session, appeal)
    hidden = {p.relation for p in people if access.identity_view(principal, appeal, p) == "hidden"}
    if not hidden:
        return record
    words = words_for(principal, appeal, people)
    reporters = [
        {"relation": r["relation"], "role": r["role"], "hidden": True} if r["relation"] in hidden else r
        for r in record.get("reporters", [])
    ]
    timeline = [
        step | {"reason": timeline_reason(principal, appeal, people, step["actor"], step["reason"])}
        for step in record.get("timeline", [])
    ]
    # A return visit's comment is the resident's say, whoever typed it in.
    visits = [
        visit | {"comment": text_for(principal, appeal, people, visit["comment"], resident=True)}
        for visit in record.get("return_visits", [])
    ]
    return record | {
        "title": words.title,
        "description": words.description,
        "address": words.address,
        "reporters": reporters,
        "timeline": timeline,
        "return_visits": visits,
    }


async def note_complaint(
    session: AsyncSession, appeal: Appeal, unit_type: str | None, unit_code: str | None
) -> None:
    """Record the unit the appeal complains about (None for both: none) and tell routing, which
    hands the appeal one level up if that unit holds it."""
    appeal.complained_unit_type, appeal.complained_unit_code = unit_type, unit_code
    appeal.version += 1
    data = ComplaintNoted.model_validate({"unit_type": unit_type, "unit_code": unit_code})
    await emit(session, messaging, make_event("appeal.complaint_noted", "intake", data, appeal_id=appeal.id))


async def reporters_of(session: AsyncSession, appeal: Appeal) -> Sequence[Reporter]:
    """The appeal's people, reporter first."""
    return (
        await session.scalars(
            select(Reporter).where(Reporter.appeal_id == appeal.id).order_by(Reporter.relation.desc())
        )
    ).all()


async def quoted_numbers_of(session: AsyncSession, appeal: Appeal) -> list[QuotedNumberView]:
    """The numbers written in the appeal's words, masked, phones first, in order of appearance."""
    rows = (
        await session.scalars(
            select(QuotedNumber)
            .where(QuotedNumber.appeal_id == appeal.id)
            .order_by(QuotedNumber.kind.desc(), QuotedNumber.ordinal)
        )
    ).all()
    return [
        QuotedNumberView.model_validate({"kind": r.kind, "index": r.ordinal, "masked": r.masked})
        for r in rows
    ]


async def record_reveal(
    session: AsyncSession,
    appeal_id: uuid.UUID,
    *,
    actor: str,
    fields: str,
    reason: str,
    principal: Principal | None = None,
) -> None:
    """Write one audit row (in the caller's transaction: no reveal without its record)."""
    session.add(
        RevealAudit(
            at=utcnow(),
            actor=actor,
            actor_role=principal.role if principal else None,
            actor_org=f"{principal.org_type}:{principal.org_code}" if principal else None,
            appeal_id=appeal_id,
            fields=fields[:100],
            reason=reason,
        )
    )
    await session.flush()


async def reveal(
    session: AsyncSession,
    appeal: Appeal,
    principal: Principal,
    relation: str,
    field: RevealField,
    reason: str,
    *,
    index: int = 1,
) -> Revealed:
    """A full phone number, ID number or withheld name, for a role that needs it; audited."""
    if field in QUOTED_KINDS:
        return await _reveal_quoted(session, appeal, principal, field, index, reason)
    person = await session.scalar(
        select(Reporter).where(Reporter.appeal_id == appeal.id, Reporter.relation == relation)
    )
    if person is None:
        raise NotFound("该诉求没有这位反映人。")
    if not access.may_reveal(principal, appeal, person):
        raise Forbidden("您的岗位无权查看该反映人的完整信息。")
    if field == "phone":
        value = decrypt_pii(person.phone_enc) if person.phone_enc else None
    elif field == "id_number":
        value = decrypt_pii(person.id_number_enc) if person.id_number_enc else None
    else:
        value = person.name
    await record_reveal(
        session,
        appeal.id,
        actor=f"staff:{principal.username}",
        fields=f"{relation}.{field}",
        reason=reason,
        principal=principal,
    )
    return Revealed(relation=relation, field=field, value=value)


async def _reveal_quoted(
    session: AsyncSession, appeal: Appeal, principal: Principal, field: RevealField, index: int, reason: str
) -> Revealed:
    """A number written in the appeal's words. Whose number it is the text does not say, so the
    caller must be allowed to reveal every person of the appeal (a confidential reporter's number
    stays hidden from whoever may not reveal them)."""
    people = await reporters_of(session, appeal)
    if not people or not all(access.may_reveal(principal, appeal, p) for p in people):
        raise Forbidden("您的岗位无权查看该诉求内容中的完整号码。")
    kind = QUOTED_KINDS[field]
    row = await session.scalar(
        select(QuotedNumber).where(
            QuotedNumber.appeal_id == appeal.id, QuotedNumber.kind == kind, QuotedNumber.ordinal == index
        )
    )
    if row is None:
        raise NotFound(f"该诉求内容中没有第{index}个{'电话号码' if kind == 'phone' else '身份证号码'}。")
    value = decrypt_pii(row.value_enc)
    await record_reveal(
        session,
        appeal.id,
        actor=f"staff:{principal.username}",
        fields=f"text.{kind}[{index}]",
        reason=reason,
        principal=principal,
    )
    return Revealed(relation="text", field=field, value=value, index=index)


async def audit_log(
    session: AsyncSession, *, appeal_id: uuid.UUID | None, since: datetime | None, limit: int
) -> list[AuditEntry]:
    """The reveal audit, newest first."""
    stmt = select(RevealAudit).order_by(RevealAudit.at.desc(), RevealAudit.id.desc()).limit(limit)
    if appeal_id is not None:
        stmt = stmt.where(RevealAudit.appeal_id == appeal_id)
    if since is not None:
        stmt = stmt.where(RevealAudit.at >= since)
    rows = (await session.scalars(stmt)).all()
    return [
        AuditEntry(
            at=r.at,
            actor=r.actor,
            actor_role=r.actor_role,
            actor_org=r.actor_org,
            appeal_id=r.appeal_id,
            fields=r.fields,
            reason=r.reason,
        )
        for r in rows
    ]
