"""Contracts between services: every subscription has a handler, every handler a subscription."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest

from services.contracts.events import (
    DATA_MODELS,
    SUBSCRIPTIONS,
    AppealTriaged,
    StatusChanged,
    consumers_of,
    make_event,
)

JOB_MODULES = {
    "intake": "intake.jobs",
    "routing": "routing.jobs",
    "deadlines": "deadlines.jobs",
    "ledger": "ledger.jobs",
    "gateway": "services.gateway.jobs",
}


@pytest.mark.parametrize("service", sorted(JOB_MODULES))
def test_subscriptions_match_handlers(service: str) -> None:
    module = importlib.import_module(JOB_MODULES[service])
    handlers = getattr(module, "HANDLERS", None)
    if handlers is None:
        handlers = importlib.import_module(f"{service}.projection").HANDLERS
    assert set(handlers) == set(SUBSCRIPTIONS[service])  # type: ignore[index]


def test_consumers_include_the_producer_only_for_its_own_follow_up_work() -> None:
    assert "intake" not in consumers_of("appeal.status_changed", "intake")
    # Intake's worker analyses what its request recorded (duplicates, counters) after the commit.
    assert consumers_of("appeal.received", "intake") == ["intake", "routing", "deadlines"]
    assert "ledger" not in consumers_of("claim.confirmed", "ledger")


def test_make_event_checks_the_data_model() -> None:
    with pytest.raises(TypeError):
        make_event("appeal.triaged", "routing", StatusChanged(from_status="a", to_status="b"))
    event = make_event(
        "appeal.status_changed", "intake", StatusChanged(from_status="received", to_status="triaged")
    )
    assert event.occurred_at <= datetime.now(UTC)
    assert event.data_as(StatusChanged).to_status == "triaged"
    assert DATA_MODELS["appeal.triaged"] is AppealTriaged
