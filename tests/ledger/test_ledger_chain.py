"""Truth over time: the hash chain, its verifier, reconciliation, and the new invariants in SQL.

Tampering is simulated the only way it can happen: as a superuser who disables the immutability
trigger. Each test restores what it changed in the same way, since the database is shared by the
whole session.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.service import reconcile, verify_chain
from ledger.service.audit import entry_facts
from ledger.service.chain import entry_content
from ledger.service.journal import constraint_name
from services.common.db import get_engine, session_scope
from tests.ledger.support import (
    Ledger,
    payee,
    scalar,
    town_holder,
    village_holder,
    village_of,
)

ROOT = Path(__file__).resolve().parents[2]


async def superuser(*statements: str, **params: object) -> None:
    """Run statements in one transaction, as the test's superuser, behind the triggers' back."""
    async with get_engine().begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


async def edit_memo(entry_id: str, memo: str | None) -> None:
    await superuser(
        "ALTER TABLE ledger.journal_entries DISABLE TRIGGER journal_entries_immutable",
        "UPDATE ledger.journal_entries SET memo = :memo WHERE id = :id",
        "ALTER TABLE ledger.journal_entries ENABLE TRIGGER journal_entries_immutable",
        memo=memo,
        id=entry_id,
    )


async def shift_posting(entry_id: str, by: int) -> None:
    """Move `by` fen from one leg to the other, and the stored balances with it."""
    await superuser(
        "ALTER TABLE ledger.postings DISABLE TRIGGER postings_immutable",
        "UPDATE ledger.postings SET amount_fen = amount_fen + :by WHERE entry_id = :id AND amount_fen > 0",
        "ALTER TABLE ledger.postings ENABLE TRIGGER postings_immutable",
        by=by,
        id=entry_id,
    )


def cli_verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ledger", "verify"],
        cwd=ROOT,
        env={**os.environ, "GUANJIA_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestChain:
    async def test_python_and_sql_agree_on_the_canonical_content(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        memo = '换行\n"引号" \\ tab\t😀 — 全角ＡＢＣ'
        entry = await ledger.allocate(
            town_holder(town), village_holder(village_of(town)), 7, key=f"k-{uuid.uuid4()}"
        )
        entry_id = entry.json()["id"]
        await edit_memo(entry_id, memo)  # an awkward memo, then back: only to compare the two
        try:
            sql = await scalar("SELECT ledger.entry_content(:id)", id=entry_id)
            async with session_scope() as session:
                facts = (await entry_facts(session, [uuid.UUID(entry_id)]))[uuid.UUID(entry_id)]
            assert entry_content(facts) == sql
        finally:
            await edit_memo(entry_id, None)

    async def test_tampering_breaks_the_chain_and_verify_says_where(
        self, ledger: Ledger, tmp_path: Path
    ) -> None:
        town = await ledger.funded_town(1_000)
        entry = (await ledger.allocate(town_holder(town), village_holder(village_of(town)), 250)).json()
        seq = await scalar("SELECT seq FROM ledger.chain WHERE entry_id = :id", id=entry["id"])
        async with session_scope() as session:
            assert (await verify_chain(session)).ok
        await edit_memo(entry["id"], "改过的摘要")
        try:
            async with session_scope() as session:
                report = await verify_chain(session)
            assert not report.ok
            assert [(b.seq, str(b.entry_id), b.problem) for b in report.breaks] == [
                (seq, entry["id"], "content_mismatch")
            ]
            done = await asyncio.to_thread(cli_verify, tmp_path)
            assert done.returncode == 1, done.stderr
            printed = json.loads(done.stdout)
            assert printed["ok"] is False and printed["breaks"][0]["entry_id"] == entry["id"]
        finally:
            await edit_memo(entry["id"], entry["memo"])
        async with session_scope() as session:
            assert (await verify_chain(session)).ok

    async def test_edited_amount_breaks_the_chain_and_the_books(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        entry = (await ledger.allocate(town_holder(town), village_holder(village_of(town)), 250)).json()
        await shift_posting(entry["id"], 1)
        try:
            async with session_scope() as session:
                chain = await verify_chain(session)
                books = await reconcile(session)
            assert {b.problem for b in chain.breaks} == {"content_mismatch"}
            problems = {(m.problem, m.reference) for m in books.mismatches}
            assert ("unbalanced_entry", f"entry/{entry['id']}") in problems
            village = village_of(town)
            assert ("balance", f"village/{village}/city_finance") in problems
        finally:
            await shift_posting(entry["id"], -1)
        async with session_scope() as session:
            assert (await verify_chain(session)).ok and (await reconcile(session)).ok

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger.chain SET hash = repeat('0', 64) WHERE seq = (SELECT max(seq) FROM ledger.chain)",
            "DELETE FROM ledger.chain WHERE seq = (SELECT max(seq) FROM ledger.chain)",
            "UPDATE ledger.chain_head SET seq = seq + 1",
            "DELETE FROM ledger.chain_head",
        ],
    )
    async def test_the_chain_is_append_only(self, ledger: Ledger, statement: str) -> None:
        # A chain with a link in it whatever ran before: an UPDATE of no row would prove nothing.
        await ledger.funded_town(1)
        with pytest.raises(IntegrityError):
            await superuser(statement)


class TestInvariantsInSql:
    async def test_a_reservation_resolves_once(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        rid = (await ledger.reserve(town_holder(town), 100)).json()["id"]
        assert (await ledger.post(f"/reservations/{rid}/release", {})).status_code == 201
        with pytest.raises(IntegrityError) as info:
            await superuser("UPDATE ledger.reservations SET state = 'expired' WHERE id = :id", id=rid)
        assert constraint_name(info.value) == "reservation_resolved"
        with pytest.raises(IntegrityError):
            await superuser("DELETE FROM ledger.reservations WHERE id = :id", id=rid)

    async def test_a_reservation_holds_what_it_says(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        rid = (await ledger.reserve(town_holder(town), 100)).json()["id"]
        # Resolving it while its accounts still hold money fails at COMMIT.
        with pytest.raises(IntegrityError) as info:
            await superuser(
                "UPDATE ledger.reservations SET state = 'released', resolved_at = now() WHERE id = :id",
                id=rid,
            )
        assert constraint_name(info.value) == "reservation_funded"
        # So does a reservation row with no money behind it.
        with pytest.raises(IntegrityError) as info:
            await superuser(
                "INSERT INTO ledger.reservations (id, holder_type, holder_code, payee_type, payee_code, amount_fen,"
                " expires_at, created_by) VALUES (:id, 'town', :t, 'project', 'P1', 100, now() + interval '1 day', 't')",
                id=str(uuid.uuid4()),
                t=town,
            )
        assert constraint_name(info.value) == "reservation_funded"

    async def test_receipts_never_exceed_the_pledge(self, ledger: Ledger) -> None:
        pledge = (await ledger.post("/pledges", {"donor_code": "D-sql", "amount_fen": 100})).json()
        receipt = (await ledger.post(f"/pledges/{pledge['id']}/receipts", {"amount_fen": 100})).json()
        # A second receipt of the pledge written in raw SQL, past the service's own check.
        legs = {p["holder_type"]: p for p in receipt["entry"]["postings"]}
        accounts = {
            t: await scalar(
                "SELECT id FROM ledger.accounts WHERE holder_type = :t AND holder_code = :c AND source_code = 'donation'",
                t=t,
                c=legs[t]["holder_code"],
            )
            for t in ("external", "city")
        }
        entry_id = str(uuid.uuid4())
        with pytest.raises(IntegrityError) as info:
            await superuser(
                "INSERT INTO ledger.journal_entries (id, kind, idempotency_key, request_hash, created_by, pledge_id)"
                " VALUES (:e, 'receipt', :k, repeat('0', 64), 't', :p)",
                "INSERT INTO ledger.postings (entry_id, account_id, amount_fen) VALUES (:e, :x, -1), (:e, :c, 1)",
                e=entry_id,
                k=f"raw-{entry_id}",
                p=pledge["id"],
                x=accounts["external"],
                c=accounts["city"],
            )
        assert constraint_name(info.value) == "pledge_receipts"

    async def test_commands_are_settled_once(self) -> None:
        k = f"raw-{uuid.uuid4()}"
        with pytest.raises(IntegrityError) as info:
            await superuser(
                "INSERT INTO ledger.commands (idempotency_key, operation, request_hash, created_by)"
                " VALUES (:k, 'income', repeat('0', 64), 't')",
                k=k,
            )
        assert constraint_name(info.value) == "command_settled"
        settled = f"raw-{uuid.uuid4()}"
        await superuser(
            "INSERT INTO ledger.commands (idempotency_key, operation, request_hash, created_by)"
            " VALUES (:k, 'income', repeat('0', 64), 't')",
            "UPDATE ledger.commands SET state = 'failed', status_code = 409, response = '{}' WHERE idempotency_key = :k",
            k=settled,
        )
        for statement in (
            "UPDATE ledger.commands SET status_code = 201 WHERE idempotency_key = :k",
            "DELETE FROM ledger.commands WHERE idempotency_key = :k",
        ):
            with pytest.raises(DBAPIError):
                await superuser(statement, k=settled)

    async def test_an_entry_is_reversed_at_most_once_even_in_sql(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        entry = (await ledger.disburse(town_holder(town), 10, payee=payee())).json()
        assert (await ledger.post(f"/entries/{entry['id']}/reversal", {"memo": "x"})).status_code == 201
        with pytest.raises(IntegrityError) as info:
            await superuser(
                "INSERT INTO ledger.journal_entries (id, kind, idempotency_key, request_hash, created_by, reverses_id)"
                " VALUES (:e, 'reversal', :k, repeat('0', 64), 't', :r)",
                e=str(uuid.uuid4()),
                k=f"raw-{uuid.uuid4()}",
                r=entry["id"],
            )
        assert constraint_name(info.value) == "uq_journal_entries_reverses_id"
