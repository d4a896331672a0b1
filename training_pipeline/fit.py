"""Fitting one network on the training split and calibrating its intervals on validation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import keras
import numpy as np
from tqdm.auto import tqdm

from training_pipeline.bundle import ModelBundle
from training_pipeline.config import TrainConfig
from training_pipeline.dataset import TrainingSet
from training_pipeline.models import Architecture, build_model

logger = logging.getLogger(__name__)

COVERAGE = 0.8
SHRINK_GRID = np.linspace(0.0, 1.0, 11)


def fit_model(
    kind: str,
    arch: Architecture,
    data: TrainingSet,
    config: TrainConfig,
    *,
    origins: np.ndarray | None = None,
    callbacks: list[Any] | None = None,
    progress: bool = False,
) -> keras.Model:
    """Train a freshly built, seeded model on `origins` (the training split by default).

    Early stopping watches the validation loss and restores the best epoch's weights.
    """
    keras.utils.set_random_seed(config.seed)
    model = build_model(kind, arch, n_features=data.n_features, horizon=data.horizon)
    x, y = data.arrays(data.splits.train if origins is None else origins, arch.window)
    val = data.arrays(data.splits.val, arch.window)
    with tqdm(total=config.epochs, desc=f"training {kind}", disable=not progress) as bar:
        history = model.fit(
            x,
            y,
            validation_data=val,
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=[*(callbacks or []), early_stopping(config), EpochBar(bar)],
            verbose=0,
        )
    logger.info(
        "%s %s: %d epochs, best val loss %.4f",
        kind,
        arch,
        len(history.history["loss"]),
        min(history.history["val_loss"]),
    )
    return model


class EpochBar(keras.callbacks.Callback):
    """Advance a progress bar after each epoch (early stopping may end it before the total)."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bar.update(1)


def early_stopping(config: TrainConfig) -> keras.callbacks.EarlyStopping:
    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )


def calibrate(bundle: ModelBundle, data: TrainingSet) -> ModelBundle:
    """Fit the forecast shrinkage and then the interval band on the validation split."""
    bundle = replace(bundle, shrink=shrinkage(bundle, data), band={})
    return replace(bundle, band=conformal_band(bundle, data))


def shrinkage(bundle: ModelBundle, data: TrainingSet) -> tuple[float, ...]:
    """The factor in SHRINK_GRID that minimises the validation MAE ratio, averaged over horizons.

    One factor for all horizons (few parameters fitted on validation): a network that cannot beat
    the random walk on validation is pulled back to it (factor 0).
    """
    origins = data.splits.val
    median = replace(bundle, shrink=None, band={}).forecast(
        bundle.inputs(data.view.frame, origins)
    )[..., 1]
    actual = data.labels[origins]
    naive = np.abs(actual).mean(axis=0)
    ratios = [(np.abs(f * median - actual).mean(axis=0) / naive).mean() for f in SHRINK_GRID]
    best = round(float(SHRINK_GRID[int(np.argmin(ratios))]), 2)
    return (best,) * bundle.horizon


def conformal_band(bundle: ModelBundle, data: TrainingSet) -> dict[str, list[float]]:
    """Per-horizon factors that scale the 10-90% band around the median to 80% validation coverage.

    Normalised conformalised quantile regression: an origin's score is how many half-widths of
    its band the actual return lies from the median; the band is scaled by that score's 80%
    quantile, so it stays as wide as the model's own volatility forecast says, only recalibrated.
    """
    origins = data.splits.val
    forecast = bundle.forecast(bundle.inputs(data.view.frame, origins))
    low, median, high = forecast[..., 0], forecast[..., 1], forecast[..., 2]
    actual = data.labels[origins]
    tiny = 1e-12
    scores = np.maximum(
        (median - actual) / np.maximum(median - low, tiny),
        (actual - median) / np.maximum(high - median, tiny),
    )
    n = len(origins)
    level = min(1.0, np.ceil((n + 1) * COVERAGE) / n)
    return {"scale": np.quantile(scores, level, axis=0, method="higher").tolist()}


@contextmanager
def precision(config: TrainConfig, device: str) -> Iterator[str]:
    """Use the mixed_float16 policy inside the block when asked for and on a GPU; yield it."""
    policy = "mixed_float16" if config.mixed_precision and device == "GPU" else "float32"
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)


def device_name() -> str:
    """'GPU' when TensorFlow sees one (the same code then runs there, cuDNN LSTM), else 'CPU'."""
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
