"""Adapters the contract suites run against, and generated candle frames to write into them.

To add an adapter: put a factory `(folder) -> store` in STORES (and `(folder) -> registry` in
REGISTRIES). Factories are plain module-level functions so that worker processes can call them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from feature_store.base import FeatureStore, ModelRegistry


def local_store(folder: Path) -> FeatureStore:
    from feature_store.local import LocalFeatureStore

    return LocalFeatureStore(str(folder / "store"))


def local_registry(folder: Path) -> ModelRegistry:
    from feature_store.local_registry import LocalModelRegistry

    return LocalModelRegistry(folder / "registry")


STORES: dict[str, Callable[[Path], FeatureStore]] = {"local": local_store}
REGISTRIES: dict[str, Callable[[Path], ModelRegistry]] = {"local": local_registry}

# Adapters whose storage several OS processes can write at once (multi-process tests).
MULTI_PROCESS: set[str] = {"local"}


def candle_frame(
    symbol: str = "BTCUSDT",
    interval: str = "1d",
    start: str = "2024-01-01",
    n: int = 10,
    *,
    seed: int = 0,
    freq: str = "D",
) -> pd.DataFrame:
    """n closed candles of one series, in the `candles` group's schema."""
    rng = np.random.default_rng(seed)
    open_time = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    close = 100 + rng.standard_normal(n).cumsum()
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": open_time,
            "close_time": open_time + pd.Timedelta(1, unit=freq.lower()) - pd.Timedelta("1ms"),
            "open": close + rng.uniform(-1, 1, n),
            "high": close + 2,
            "low": close - 2,
            "close": close,
            "volume": rng.uniform(1, 10, n),
            "quote_volume": rng.uniform(100, 1000, n),
            "trades": rng.integers(1, 1000, n),
        }
    )
