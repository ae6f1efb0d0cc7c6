"""Disbursement (拨付) straight from a holder's fund accounts to a project or beneficiary.

Which sources pay: the documented disbursement order of `ledger.service.rules.DISBURSEMENT_ORDER`
(donation, city charity, city finance, town matching, village collective), each source paying
what the holder has of it before the next is touched; or only the source the command names.
A reservation's disbursements follow the same order over what the reservation holds
(`ledger.service.reservations`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.schemas import DisbursementCommand
from ledger.service import rules
from ledger.service.commands import Effect, Outcome, run_command
from ledger.service.draws import draw, funds_event, transfer
from ledger.service.journal import EntrySpec, post_entry, source
from ledger.service.rules import AccountKey


async def disburse(
    session: AsyncSession, cmd: DisbursementCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Pay a project or beneficiary from the holder's funds; `funds.disbursed` for an appeal."""
    holder = (cmd.holder.holder_type, cmd.holder.holder_code)
    payee = (cmd.payee.payee_type, cmd.payee.payee_code)

    async def execute(digest: str) -> Effect:
        rules.validate_holder(*holder)
        rules.validate_reference_code(*payee)
        if cmd.source_code is not None:
            await source(session, cmd.source_code)
        parts = await draw(
            session,
            holder,
            rules.paying_sources(cmd.source_code),
            cmd.amount_fen,
            payee=lambda s: AccountKey(payee[0], payee[1], s),
        )
        entry = await post_entry(
            session,
            EntrySpec(
                kind="disbursement",
                idempotency_key=idempotency_key,
                digest=digest,
                legs=transfer(holder, payee, parts),
                actor=actor,
                memo=cmd.memo,
                appeal_id=cmd.appeal_id,
                holder=holder,
            ),
        )
        events = funds_event(
            "funds.disbursed",
            appeal_id=cmd.appeal_id,
            amount_fen=cmd.amount_fen,
            reference=str(entry.id),
            entry=entry,
            sources=dict(parts),
            holder=holder,
            payee_type=payee[0],
        )
        return Effect(entry, events)

    return await run_command(
        session, operation="disbursement", key=idempotency_key, command=cmd, actor=actor, execute=execute
    )
