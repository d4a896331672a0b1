"""Fixtures for the training tests: real BTC features, a synthetic predictable series, stores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_series import read_candles, regime_features, synthetic_features

from feature_pipeline.groups import FEATURES
from training_pipeline.config import TrainConfig


@pytest.fixture(scope="session")
def btc_features(data_dir: Path) -> pd.DataFrame:
    """Real BTCUSDT 1d features engineered from the shared candles."""
    from feature_pipeline.features import engineer

    return engineer(read_candles(data_dir / "BTCUSDT_1d.csv", "BTCUSDT"))


@pytest.fixture
def synthetic() -> pd.DataFrame:
    return synthetic_features()


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
    import keras

    from training_pipeline.candidates import fitting_end, network_bundle
    from training_pipeline.config import Architecture
    from training_pipeline.models import build_model

    keras.utils.set_random_seed(seed)  # the same weights whatever ran before in this process
    arch = Architecture(window=5, units=8)
    model = build_model(kind, arch, n_features=data.n_features, horizon=data.horizon)
    head = model.get_layer("quantiles")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    head.set_weights([rng.normal(scale=0.3, size=kernel.shape).astype("float32"), bias])
    cutoff = fitting_end(data)
    return network_bundle(kind, arch, arch.to_dict(), model, data, TINY, cutoff, "CPU")


REGIMES = replace(TINY, val_size=200, selection_size=200, test_size=200)


@pytest.fixture(scope="session")
def regimes():
    """The slowly changing volatility series prepared with REGIMES: test calmer than validation."""
    from training_pipeline.feature_view import feature_view_from_frame
    from training_pipeline.training_set import prepare

    view = feature_view_from_frame(regime_features(), symbol="SYNTHUSDT", interval="1d")
    return prepare(view, REGIMES)
