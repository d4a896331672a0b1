"""The inference tests' world: a store backfilled from the CSVs and a tiny trained MLP."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from candlecast.settings import Settings
from feature_store import open_store

# The demo's clock: the 2026-01-06 candle is still open, 2026-01-05 is the last closed one.
NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
SYMBOLS = ("BTCUSDT", "ETHUSDT")  # only BTCUSDT gets models: ETHUSDT is "no model registered"
MLP = "btcusdt-1d-mlp"
PERSISTENCE = "btcusdt-1d-persistence"


@dataclass(frozen=True)
class AppWorld:
    """Where the session's store and registry live, and the training config that filled it."""

    home: Path
    settings: Settings
    config: object  # training_pipeline.config.TrainConfig


def tiny_config():
    """A complete but very small training run: one MLP trial, two epochs, short splits."""
    from training_pipeline.config import QUICK

    return QUICK.with_overrides(
        models=("mlp",),
        windows=(14,),
        epochs=2,
        max_trials=1,
        val_size=120,
        selection_size=120,
        test_size=120,
    )


def backfill(settings: Settings, data_dir: Path, symbols: tuple[str, ...] = SYMBOLS) -> None:
    """Fill the settings' store with closed daily candles and features from the CSV files."""
    from feature_pipeline import backfill as backfill_pipeline
    from feature_pipeline.source import open_source

    source = open_source(settings, f"csv:{data_dir}")
    backfill_pipeline.run(
        settings, open_store(settings), source, list(symbols), "1d", progress=False
    )


def free_port() -> int:
    """A port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
