"""Intraday stores for the interval tests: BTCUSDT 4h (a tiny trained MLP and its baselines) and
BTCUSDT 1m (no model: the untrained baseline), backfilled from the CSV files in ../shared/data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app_world import NOW, tiny_config

from candlecast.settings import Settings
from feature_store import open_registry, open_store

# The 4h file's last row (2026-01-06 12:00) is still open at NOW; the 1m file ends 2025-08-11
# 00:00, closed a second after this clock's minute started.
CLOCKS = {"4h": NOW, "1m": datetime(2025, 8, 11, 0, 1, 30, tzinfo=UTC)}
FILES = {"4h": "BTCUSDT_4h.csv", "1m": "BTCUSDT_1m_2025-08.csv"}


def interval_settings(home: Path, interval: str) -> Settings:
    return Settings(home=home, now=CLOCKS[interval], symbols=("BTCUSDT",), interval=interval)


def build_interval_store(home: Path, data_dir: Path, interval: str, *, train: bool) -> Settings:
    """Backfill BTCUSDT at the interval from its CSV file; with `train`, a tiny training run."""
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source

    settings = interval_settings(home, interval)
    source = open_source(settings, f"csv:{data_dir / FILES[interval]}")
    backfill.run(settings, open_store(settings), source, ["BTCUSDT"], interval, progress=False)
    if train:
        from training_pipeline.run import run

        run(
            settings,
            open_store(settings),
            open_registry(settings),
            symbols=("BTCUSDT",),
            interval=interval,
            config=tiny_config(),
            progress=False,
        )
    return settings
