"""The kernel's idempotent commands (services.common.idempotency): the fingerprint of a request,
and the command table a service declares, which is the ledger's (the ledger's command table was
lifted into the kernel; its own behaviour is proven in tests/ledger)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sqlalchemy import CheckConstraint, MetaData, Table

from ledger.models import Command
from services.common.idempotency import Outcome, canonical_json, commands_table, request_hash, scoped_key


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


def _migration(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(path).stem, Path(__file__).parents[2] / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_that_copy_old_keys_fingerprint_as_the_kernel_does() -> None:
    # The copied keys must replay: the migrations' frozen fingerprint is the kernel's.
    claim = {"appeal_id": "0d6c4c1e-0000-4000-8000-000000000001", "kind": "service", "amount_fen": None}
    extension = {"days": 3, "reason": "需等待医保部门出具报销结算单"}
    routing = _migration(
        "routing/migrations/versions/20261206_routing_claim_keys_to_commands_a1d3e5f7b9c2.py"
    )
    deadlines = _migration(
        "deadlines/migrations/versions/20261206_deadlines_extension_keys_to_commands_b2e4f6a8c0d1.py"
    )
    assert routing._kernel_hash("claim", {**claim, "service": "上门维修", "note": None}) == request_hash(
        "claim", {**claim, "service": "上门维修", "note": None}
    )
    assert deadlines._kernel_hash("extension", extension) == request_hash("extension", extension)
    assert routing._kernel_hash("claim", claim) != request_hash("extension", claim)


def test_a_scoped_key_keeps_two_owners_equal_keys_apart() -> None:
    assert scoped_key("claim", "donor-a", "k1") != scoped_key("claim", "donor-b", "k1")
    assert scoped_key("extension", "clock", "k1") == "extension:clock:k1"
