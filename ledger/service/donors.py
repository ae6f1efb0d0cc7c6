"""Donors (爱心资源库): pledges (认捐), receipts (到账), the donor's statement and receipt document.

A pledge is a promise, not money: it is a row of its own and moves no balance. A receipt is a
journal entry (`receipt`) of source `donation`, from the donor's own outside account
(`external` / `donor:<code>`, so one account statement lists all a donor ever gave) to the
recipient's fund account. Receipts never exceed the pledge (checked here under the pledge's
row lock, and by the database at COMMIT).
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ledger.errors import ClaimAlreadyPledged, PledgeExceeded, PledgeNotFound
from ledger.models import Account, ChainLink, JournalEntry, Pledge, Posting
from ledger.schemas import FundHolder, PledgeCommand, PledgeOut, ReceiptCommand, ReceiptOut
from ledger.service import rules
from ledger.service.amounts import capital_amount, yuan
from ledger.service.commands import Effect, Outcome, run_command
from ledger.service.draws import transfer
from ledger.service.journal import EntrySpec, constraint_name, post_entry
from ledger.service.report_schemas import DonorReport, ReceiptDocument, ReceiptLine
from services.common.errors import NotFound

SHANGHAI = ZoneInfo("Asia/Shanghai")
ISSUER = "东莞市民生大莞家专项资金"
CLAIM_CONSTRAINT = "uq_pledges_claim_id"


async def pledge(session: AsyncSession, cmd: PledgeCommand, *, idempotency_key: str, actor: str) -> Outcome:
    """Record a donor's pledge."""

    async def execute(digest: str) -> Effect:
        rules.validate_reference_code("donor", cmd.donor_code)
        rules.validate_holder(cmd.recipient.holder_type, cmd.recipient.holder_code)
        row = Pledge(
            id=uuid.uuid4(),
            donor_code=cmd.donor_code,
            amount_fen=cmd.amount_fen,
            recipient_type=cmd.recipient.holder_type,
            recipient_code=cmd.recipient.holder_code,
            appeal_id=cmd.appeal_id,
            claim_id=cmd.claim_id,
            memo=cmd.memo,
            created_by=actor,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == CLAIM_CONSTRAINT:
                raise ClaimAlreadyPledged(claim_id=cmd.claim_id) from exc
            raise
        return Effect(await pledge_out(session, row))

    return await run_command(
        session, operation="pledge", key=idempotency_key, command=cmd, actor=actor, execute=execute
    )


async def receive(
    session: AsyncSession, pledge_id: uuid.UUID, cmd: ReceiptCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Book money of a pledge arriving (到账)."""

    async def execute(digest: str) -> Effect:
        row = await session.scalar(select(Pledge).where(Pledge.id == pledge_id).with_for_update())
        if row is None:
            raise PledgeNotFound(pledge_id=str(pledge_id))
        outstanding = row.amount_fen - await received(session, pledge_id)
        if cmd.amount_fen > outstanding:
            raise PledgeExceeded(
                f"到账金额 {cmd.amount_fen} 分超过认捐尚未到账的 {outstanding} 分，本次操作未执行。",
                pledge_id=str(pledge_id),
                outstanding_fen=outstanding,
                amount_fen=cmd.amount_fen,
            )
        recipient = (row.recipient_type, row.recipient_code)
        entry = await post_entry(
            session,
            EntrySpec(
                kind="receipt",
                idempotency_key=idempotency_key,
                digest=digest,
                legs=transfer(
                    ("external", rules.donor_outside_code(row.donor_code)),
                    recipient,
                    [("donation", cmd.amount_fen)],
                ),
                actor=actor,
                memo=cmd.memo,
                appeal_id=row.appeal_id,
                holder=recipient,
                pledge_id=row.id,
            ),
        )
        return Effect(ReceiptOut(entry=entry, pledge=await pledge_out(session, row)))

    return await run_command(
        session,
        operation="receipt",
        key=idempotency_key,
        command={"pledge_id": str(pledge_id), **cmd.model_dump(mode="json")},
        actor=actor,
        execute=execute,
    )


async def received(session: AsyncSession, pledge_id: uuid.UUID) -> int:
    """What arrived for a pledge, net of reversed receipts: minus its entries' outside legs."""
    total = await session.scalar(
        select(func.coalesce(-func.sum(Posting.amount_fen), 0))
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.pledge_id == pledge_id, Account.holder_type == "external")
    )
    return int(total or 0)


async def pledge_out(session: AsyncSession, row: Pledge) -> PledgeOut:
    """A pledge with what has arrived of it."""
    got = await received(session, row.id)
    return PledgeOut(
        id=row.id,
        donor_code=row.donor_code,
        amount_fen=row.amount_fen,
        received_fen=got,
        outstanding_fen=row.amount_fen - got,
        fulfilled=got >= row.amount_fen,
        recipient=FundHolder(holder_type=row.recipient_type, holder_code=row.recipient_code),
        appeal_id=row.appeal_id,
        claim_id=row.claim_id,
        memo=row.memo,
        created_at=row.created_at,
    )


async def get_pledge(session: AsyncSession, pledge_id: uuid.UUID) -> PledgeOut:
    """One pledge."""
    row = await session.get(Pledge, pledge_id)
    if row is None:
        raise PledgeNotFound(pledge_id=str(pledge_id))
    return await pledge_out(session, row)


async def donor_report(session: AsyncSession, donor_code: str) -> DonorReport:
    """A donor's statement: every pledge and every receipt, with the total in capital figures."""
    rules.validate_reference_code("donor", donor_code)
    rows = (
        await session.scalars(
            select(Pledge).where(Pledge.donor_code == donor_code).order_by(Pledge.created_at)
        )
    ).all()
    pledges = [await pledge_out(session, row) for row in rows]
    reversal = aliased(JournalEntry)
    lines = await session.execute(
        select(
            JournalEntry.id,
            JournalEntry.pledge_id,
            JournalEntry.created_at,
            Posting.amount_fen,
            exists().where(reversal.reverses_id == JournalEntry.id).label("reversed"),
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .join(Pledge, Pledge.id == JournalEntry.pledge_id)
        .where(
            Pledge.donor_code == donor_code, JournalEntry.kind == "receipt", Account.holder_type == "external"
        )
        .order_by(JournalEntry.created_at)
    )
    receipts = [
        ReceiptLine(
            entry_id=line.id,
            pledge_id=line.pledge_id,
            amount_fen=-line.amount_fen,
            received_at=line.created_at,
            reversed=line.reversed,
        )
        for line in lines
    ]
    pledged = sum(p.amount_fen for p in pledges)
    got = sum(p.received_fen for p in pledges)
    return DonorReport(
        donor_code=donor_code,
        pledged_fen=pledged,
        received_fen=got,
        outstanding_fen=pledged - got,
        received_in_words=capital_amount(got),
        pledges=pledges,
        receipts=receipts,
    )


async def receipt_document(session: AsyncSession, entry_id: uuid.UUID) -> ReceiptDocument:
    """The donation receipt (捐赠收据) of one receipt entry, with its chain link."""
    entry = await session.get(JournalEntry, entry_id)
    if entry is None or entry.kind != "receipt" or entry.pledge_id is None:
        raise NotFound("没有找到该捐赠到账记录。", entry_id=str(entry_id))
    row = await session.get(Pledge, entry.pledge_id)
    assert row is not None  # foreign key
    amount = await session.scalar(
        select(func.coalesce(-func.sum(Posting.amount_fen), 0))
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id, Account.holder_type == "external")
    )
    link = (
        await session.execute(select(ChainLink.seq, ChainLink.hash).where(ChainLink.entry_id == entry_id))
    ).first()
    reversed_ = await session.scalar(select(exists().where(JournalEntry.reverses_id == entry_id)))
    fen = int(amount or 0)
    local = entry.created_at.astimezone(SHANGHAI)
    return ReceiptDocument(
        receipt_no=f"JZ{local:%Y%m%d}{entry.id.hex[:8].upper()}",
        entry_id=entry.id,
        donor_code=row.donor_code,
        recipient=FundHolder(holder_type=row.recipient_type, holder_code=row.recipient_code),
        amount_fen=fen,
        amount_yuan=yuan(fen),
        amount_in_words=capital_amount(fen),
        pledge_id=row.id,
        appeal_id=entry.appeal_id,
        received_at=entry.created_at,
        chain_seq=link.seq if link else None,
        chain_hash=link.hash if link else None,
        reversed=bool(reversed_),
        issuer=ISSUER,
    )
