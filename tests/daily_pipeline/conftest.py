"""Fixtures for the daily run: a Binance simulator whose clock tests move, stores in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from candlecast_sim.simulator import start_simulator
from daily_market import Market, utc


@pytest.fixture
def market(data_dir: Path, tmp_path: Path) -> Iterator[Market]:
    """It serves the shared candles at a clock the test sets (starting 2025-03-01 00:05 UTC)."""
    with start_simulator(data_dir, now=utc("2025-03-01T00:05")) as simulator:
        yield Market(simulator, tmp_path)
