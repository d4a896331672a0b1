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
