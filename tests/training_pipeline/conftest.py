"""Fixtures for the training tests: real BTC features, a synthetic predictable series, stores."""

from __future__ import annotations

from dataclasses import replace
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


def trending_features(rows: int = 1100, seed: int = 5) -> pd.DataFrame:
    """A series whose drift is a slowly changing signal stored as `volume_z`.

    signal[t] is AR(1) with coefficient 0.95 and the next log return is 1% x signal[t] plus 0.4%
    noise, so the next 1..7 candles' returns are predictable from the origin row: a network can
    beat persistence at every horizon of the tiny config, significantly.
    """
    rng = np.random.default_rng(seed)
    frame = synthetic_features(rows, seed)
    signal = np.zeros(rows)
    for t in range(1, rows):
        signal[t] = 0.95 * signal[t - 1] + rng.normal(scale=np.sqrt(1 - 0.95**2))
    steps = 0.01 * signal + rng.normal(scale=0.004, size=rows)
    frame[SIGNAL] = signal
    frame["close"] = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(steps[:-1])]))
    return frame


def random_walk_features(rows: int = 1100, seed: int = 9) -> pd.DataFrame:
    """A random walk (2% daily steps) whose features are all noise: nothing can beat no change."""
    rng = np.random.default_rng(seed)
    frame = synthetic_features(rows, seed)
    frame["close"] = 100.0 * np.exp(np.cumsum(rng.normal(scale=0.02, size=rows)))
    return frame


TINY = TrainConfig(
    horizon=7,
    val_size=120,
    selection_size=120,
    test_size=120,
    refit_every=60,
    trail=100,
    garch_span=200,
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
def data(synthetic: pd.DataFrame, tiny_config: TrainConfig):
    """The synthetic series prepared for training with the tiny config."""
    from training_pipeline.feature_view import feature_view_from_frame
    from training_pipeline.training_set import prepare

    return prepare(
        feature_view_from_frame(synthetic, symbol="SYNTHUSDT", interval="1d"), tiny_config
    )


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
    from training_pipeline.candidates import fitting_end, network_bundle
    from training_pipeline.config import Architecture
    from training_pipeline.models import build_model

    arch = Architecture(window=5, units=8)
    model = build_model(kind, arch, n_features=data.n_features, horizon=data.horizon)
    head = model.get_layer("quantiles")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    head.set_weights([rng.normal(scale=0.3, size=kernel.shape).astype("float32"), bias])
    cutoff = fitting_end(data)
    return network_bundle(kind, arch, arch.to_dict(), model, data, TINY, cutoff, "CPU")


def regime_features(rows: int = 1200, seed: int = 11) -> pd.DataFrame:
    """A random walk whose volatility rises and falls slowly and is lowest in the test period.

    Daily log-return std is 2% x exp(0.8 sin(2 pi (t - 485) / 800)): with REGIMES, validation
    sits around the peak (about 4%), selection on the falling slope and test in the trough (about
    1%), so a band calibrated on validation is far too wide on test unless it follows the current
    volatility.
    `ret_1`, `vol_7`, `vol_30` and `atr_14` are computed from the closes (known at each row, as
    in the feature pipeline, `atr_14` from |ret_1|); the other features are noise.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.02 * np.exp(0.8 * np.sin(2 * np.pi * (np.arange(rows) - 485) / 800))
    steps = rng.normal(size=rows) * sigma
    frame = synthetic_features(rows, seed)
    frame["close"] = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(steps[1:])]))
    ret_1 = pd.Series(np.log(frame["close"]).diff().fillna(0.0))
    frame["ret_1"] = ret_1
    frame["vol_7"] = ret_1.rolling(7).std().bfill()
    frame["vol_30"] = ret_1.rolling(30).std().bfill()
    frame["atr_14"] = ret_1.abs().rolling(14).mean().bfill()
    return frame


REGIMES = replace(TINY, val_size=200, selection_size=200, test_size=200)


@pytest.fixture(scope="session")
def regimes():
    """The slowly changing volatility series prepared with REGIMES: test calmer than validation."""
    from training_pipeline.feature_view import feature_view_from_frame
    from training_pipeline.training_set import prepare

    view = feature_view_from_frame(regime_features(), symbol="SYNTHUSDT", interval="1d")
    return prepare(view, REGIMES)
