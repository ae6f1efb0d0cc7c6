"""The kernel's idempotent commands (services.common.idempotency): the fingerprint of a request,
and the command table a service declares, which is the ledger's (the ledger's command table was
lifted into the kernel; its own behaviour is proven in tests/ledger)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, MetaData, Table

from ledger.models import Command
from services.common.idempotency import Outcome, canonical_json, commands_table, request_hash


def test_the_fingerprint_ignores_key_order_and_names_the_operation() -> None:
    assert canonical_json({"b": 1, "a": "路灯"}) == '{"a":"路灯","b":1}'
    same = request_hash("income", {"a": 1, "b": 2})
    assert same == request_hash("income", {"b": 2, "a": 1})
    assert same != request_hash("allocation", {"a": 1, "b": 2})
    assert len(same) == 64 and set(same) <= set("0123456789abcdef")


def test_a_declared_table_has_the_ledgers_columns_and_checks() -> None:
    table = commands_table(MetaData(schema="somewhere"))
    ledger = Command.__table__
    assert isinstance(ledger, Table)

    def shape(t: Table) -> list[tuple[str, str, bool, bool]]:
        return [(c.name, str(c.type), c.nullable is True, c.primary_key) for c in t.columns]

    assert shape(table) == shape(ledger)

    def checks(t: Table) -> set[str]:
        return {str(c.sqltext) for c in t.constraints if isinstance(c, CheckConstraint)}

    assert checks(table) == checks(ledger) and len(checks(table)) == 3


def test_an_outcome_tells_a_refusal_by_its_status() -> None:
    refused = Outcome(status=409, body={"code": "insufficient_funds"}, replayed=True)
    assert refused.failed and refused.code == "insufficient_funds"
    done = Outcome(status=201, body={"code": "not-a-problem"}, replayed=False)
    assert not done.failed and done.code is None
