"""GET /internal/appeals/{id}/contacts: the people to tell about a change, for the gateway only.

Reveals decrypted phone numbers, so only the gateway's service token is accepted and each reveal
is a row of intake's reveal audit (`intake.reveal_audit`: caller, appeal, purpose) and a log line;
never the numbers themselves.
"""

from __future__ import annotations

import uuid

import structlog
from fastapi import APIRouter
from sqlalchemy import select

from intake.models import Reporter
from intake.service import records
from intake.service.confidentiality import record_reveal
from services.common.auth import InternalCaller
from services.common.crypto import decrypt_pii
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, NotFound, problem_responses
from services.contracts.contacts import AppealContacts, ContactPerson

router = APIRouter(prefix="/internal", tags=["intake"])
log = structlog.get_logger(__name__)
ALLOWED_CALLERS = frozenset({"gateway"})


@router.get(
    "/appeals/{appeal_id}/contacts",
    response_model=AppealContacts,
    responses=problem_responses(Forbidden, NotFound),
    summary="How to reach an appeal's reporters (feedback only; every reveal is logged)",
)
async def appeal_contacts(appeal_id: uuid.UUID, db: Db, caller: InternalCaller) -> AppealContacts:
    if caller.service not in ALLOWED_CALLERS:
        raise Forbidden()
    appeal = await records.get_appeal(db, appeal_id)
    people = (
        await db.scalars(select(Reporter).where(Reporter.appeal_id == appeal.id).order_by(Reporter.relation))
    ).all()
    reporters = [
        ContactPerson(
            relation=p.relation,
            role=p.role,
            name=p.name,
            openid=p.openid,
            phone=decrypt_pii(p.phone_enc) if p.phone_enc else None,
            anonymous=p.anonymous,
        )
        for p in people
    ]
    log.info(
        "pii_revealed",
        appeal_id=str(appeal.id),
        caller=caller.service,
        purpose="feedback",
        phones=sum(1 for r in reporters if r.phone),
    )
    # The reveal audit (保密): who asked, for which appeal, why — never the numbers themselves.
    await record_reveal(
        db, appeal.id, actor=f"service:{caller.service}", fields="contacts", reason="feedback"
    )
    return AppealContacts(
        appeal_id=appeal.id,
        ticket_no=appeal.ticket_no,
        channel=appeal.channel,
        channel_ref=appeal.channel_ref,
        status=appeal.status,
        received_at=appeal.received_at,
        callback_requested=appeal.callback_requested,
        reporters=reporters,
    )
