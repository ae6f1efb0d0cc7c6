"""The test-only injected clock (services.common.clock): read by every process, refused in production."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.common import clock
from services.common.messaging import utcnow


def test_unset_means_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.CLOCK_FILE, raising=False)
    assert clock.offset() == timedelta(0)


def test_the_file_moves_utcnow_and_a_rewrite_moves_it_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.CLOCK_FILE, str(path))
    monkeypatch.setenv("GUANJIA_ENV", "test")
    assert clock.offset() == timedelta(0)  # not written yet
    path.write_text("86400")
    assert clock.offset() == timedelta(days=1)
    before = utcnow()
    path.write_text("1728000.5")
    assert clock.offset() == timedelta(days=20, seconds=0.5)
    assert utcnow() - before > timedelta(days=18)


def test_production_ignores_and_refuses_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("86400")
    monkeypatch.setenv(clock.CLOCK_FILE, str(path))
    monkeypatch.setenv("GUANJIA_ENV", "production")
    assert clock.offset() == timedelta(0)
    with pytest.raises(SystemExit, match="refused"):
        clock.refuse_in_production()
    monkeypatch.setenv("GUANJIA_ENV", "development")
    clock.refuse_in_production()  # a development run may use it
