"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("CANDLE_DATA_DIR", REPO.parent / "shared" / "data" / "binance"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real Binance candles in ../shared/data/binance (read-only)."""
    if not (DATA_DIR / "BTCUSDT_1d.csv").exists():
        pytest.fail(f"market data not found at {DATA_DIR}; set CANDLE_DATA_DIR")
    return DATA_DIR


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """It keeps each test independent of the developer's CANDLECAST_* and Binance settings."""
    for key in list(os.environ):
        if key.startswith(("CANDLECAST_", "HOPSWORKS_")) or key == "BINANCE_API_URL":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def binance_sim(data_dir: Path):
    """It serves the shared candles as a Binance simulator on a free port and yields its API URL.

    The clock is fixed at 2026-01-06 12:00 UTC, inside the data: the 2026-01-06 candle is still
    open there and every later one does not exist. Use it as BINANCE_API_URL
    (or Settings.binance_api_url).
    """
    from datetime import UTC, datetime

    from feature_pipeline.simulator import start_simulator

    with start_simulator(data_dir, now=datetime(2026, 1, 6, 12, tzinfo=UTC)) as simulator:
        yield simulator.url
