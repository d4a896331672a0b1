"""Fixtures for the training tests: real BTC features, a synthetic predictable series, stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from training_pipeline.config import TrainConfig

SIGNAL = "volume_z"  # the synthetic series' next return is 2% times this feature


def read_candles(path: Path, symbol: str, interval: str = "1d") -> pd.DataFrame:
    """A Binance CSV (timestamp, open, high, low, close, volume) as CANDLES-shaped rows."""
    raw = pd.read_csv(path)
    candles = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time": pd.to_datetime(raw["timestamp"], utc=True),
        }
    )
    candles["close_time"] = candles["open_time"] + pd.Timedelta(days=1) - pd.Timedelta(1, "ms")
    for column in ("open", "high", "low", "close", "volume"):
        candles[column] = raw[column].astype(float)
    return candles


@pytest.fixture(scope="session")
def btc_features(data_dir: Path) -> pd.DataFrame:
    """Real BTCUSDT 1d features engineered from the shared candles."""
    from feature_pipeline.features import engineer

    return engineer(read_candles(data_dir / "BTCUSDT_1d.csv", "BTCUSDT"))


def synthetic_features(rows: int = 900, seed: int = 7) -> pd.DataFrame:
    """A series in the FEATURES schema whose next log return is 0.02 * volume_z (+ small noise).

    The other features are noise: persistence cannot forecast this series, a model can.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "symbol": "SYNTHUSDT",
            "interval": "1d",
            "open_time": pd.date_range("2020-01-01", periods=rows, freq="D", tz="UTC"),
        }
    )
    for column in FEATURE_COLUMNS:
        frame[column] = rng.normal(size=rows)
    steps = 0.02 * frame[SIGNAL].to_numpy() + rng.normal(scale=0.002, size=rows)
    log_close = np.log(100.0) + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    frame.insert(3, "close", np.exp(log_close))
    return frame


@pytest.fixture
def synthetic() -> pd.DataFrame:
    return synthetic_features()


TINY = TrainConfig(
    horizon=7,
    val_size=120,
    test_size=120,
    models=("mlp",),
    windows=(5,),
    max_layers=1,
    units=(16,),
    learning_rates=(5e-3, 1e-2),
    max_trials=1,
    epochs=15,
    patience=5,
    batch_size=64,
    tune_rows=None,
)


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A training config small enough for unit tests (one trial, small windows, horizon 7)."""
    return TINY


@pytest.fixture
def feature_store(tmp_path: Path):
    """A real local feature store (Delta tables in tmp_path) with the features group created."""
    from feature_store.local import LocalFeatureStore

    store = LocalFeatureStore(str(tmp_path / "store"))
    store.ensure(FEATURES)
    return store


@pytest.fixture
def registry(tmp_path: Path):
    from feature_store.local_registry import LocalModelRegistry

    return LocalModelRegistry(tmp_path / "registry")


@pytest.fixture
def make_bundle():
    """A factory of network bundles with random (non-zero) output weights, untrained."""
    return untrained_bundle


def untrained_bundle(data, kind: str = "mlp", seed: int = 0):
    """A network bundle with random (non-zero) output weights, so forecasts vary with inputs."""
    from training_pipeline.models import Architecture, build_model
    from training_pipeline.register import network_bundle

    arch = Architecture(window=5, units=8)
    model = build_model(kind, arch, n_features=data.n_features, horizon=data.horizon)
    head = model.get_layer("quantiles")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    head.set_weights([rng.normal(scale=0.3, size=kernel.shape).astype("float32"), bias])
    return network_bundle(kind, arch, arch.to_dict(), model, data, device="CPU")
