"""Fitting one network on the fitting data and calibrating it on the inner validation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import keras
import numpy as np
from tqdm.auto import tqdm

from training_pipeline import direction
from training_pipeline.bundle import ModelBundle
from training_pipeline.config import QUANTILES, Architecture, TrainConfig
from training_pipeline.intervals import VOLATILITY_SOURCES, choose_band
from training_pipeline.models import PinballLoss, build_model, with_candle_head
from training_pipeline.training_set import TrainingSet
from training_pipeline.windows import has_ranges, range_labels, window_view

logger = logging.getLogger(__name__)

NETWORK_SOURCES = (*VOLATILITY_SOURCES, "model")
SHRINK_GRID = np.linspace(0.0, 1.0, 11)


def fit_model(
    kind: str,
    arch: Architecture,
    data: TrainingSet,
    config: TrainConfig,
    *,
    epochs: int | None = None,
    progress: bool = False,
) -> tuple[keras.Model, int]:
    """Train a freshly built, seeded model on `data.fit`; return it and its epoch count.

    With `epochs` None, early stopping watches the loss on `data.val` and restores the best
    epoch's weights (the count returned is that epoch's); a refit passes the count instead.
    """
    keras.utils.set_random_seed(config.seed)
    model = build_model(kind, arch, n_features=data.n_features, horizon=data.horizon)
    total = epochs or config.epochs
    with tqdm(total=total, desc=f"training {kind}", disable=not progress) as bar:
        history = fit_on(model, data, data.fit, arch.window, config, [EpochBar(bar)], epochs)
    losses = history.history.get("val_loss")
    best = int(np.argmin(losses)) + 1 if losses else total
    logger.info("%s %s: %d epochs run, %d kept", kind, arch, len(history.history["loss"]), best)
    return model, best


def fit_on(
    model: keras.Model,
    data: TrainingSet,
    origins: np.ndarray,
    window: int,
    config: TrainConfig,
    callbacks: list[Any],
    epochs: int | None = None,
) -> keras.callbacks.History:
    """Fit on the windows ending at `origins`: early-stopped on `data.val`, or `epochs` exactly."""
    x, y = data.arrays(origins, window)
    if epochs is not None:
        return model.fit(
            x, y, epochs=epochs, batch_size=config.batch_size, callbacks=callbacks, verbose=0
        )
    return model.fit(
        x,
        y,
        validation_data=data.arrays(data.val, window),
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[*callbacks, early_stopping(config)],
        verbose=0,
    )


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


def fit_candle_head(
    model: keras.Model,
    arch: Architecture,
    data: TrainingSet,
    config: TrainConfig,
    *,
    epochs: int | None = None,
) -> tuple[keras.Model, dict[str, Any]]:
    """Train the high/low head on the frozen network (`models.with_candle_head`) on `data.fit`.

    Targets are the fitting labels of `windows.range_labels`, standardised per horizon with
    their mean and spread over `data.fit`; early stopping watches `data.val` unless `epochs` is
    given. Returns the combined model and the bundle's `candle` record.
    """
    labels = range_labels(data.view.frame, data.horizon)
    centre = labels[data.fit].mean(axis=0)
    spread = labels[data.fit].std(axis=0)
    spread = np.where(spread > 1e-12, spread, 1.0)
    keras.utils.set_random_seed(config.seed)
    trainer, combined = with_candle_head(model, data.horizon)
    trainer.compile(
        optimizer=keras.optimizers.Adam(arch.learning_rate), loss=PinballLoss(QUANTILES)
    )

    def arrays(origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = ((labels[origins] - centre) / spread).reshape(len(origins), -1)
        return window_view(data.scaled, origins, arch.window), y.astype(np.float32)

    x, y = arrays(data.fit)
    if epochs is not None:
        trainer.fit(x, y, epochs=epochs, batch_size=config.batch_size, verbose=0)
        kept = epochs
    else:
        history = trainer.fit(
            x,
            y,
            validation_data=arrays(data.val),
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=[early_stopping(config)],
            verbose=0,
        )
        kept = int(np.argmin(history.history["val_loss"])) + 1
    record = {
        "source": "head",
        "centre": centre.tolist(),
        "spread": spread.tolist(),
        "epochs": kept,
        "targets": ["high", "low"],
    }
    return combined, record


def calibrate(bundle: ModelBundle, data: TrainingSet) -> ModelBundle:
    """Fit the forecast shrinkage, then the interval band, then the P(up) map on `data.val`.

    The band's scale (the origin's `vol_30` / `vol_7` / `atr_14`, or the network's own
    half-widths) is chosen on halves of it; see `training_pipeline.intervals`. P(up) is read
    from the banded quantiles and calibrated as `training_pipeline.direction` says.
    """
    bundle = replace(bundle, shrink=shrinkage(bundle, data), band={})
    bundle = with_validation_band(bundle, data, NETWORK_SOURCES)
    return with_direction(bundle, data)


def with_direction(bundle: ModelBundle, data: TrainingSet) -> ModelBundle:
    """The bundle with its P(up) calibration fitted on `data.val` (only those origins' outcomes).

    The prior's climatology is the up-rate over the fitting origins (train through val).
    """
    origins = data.val
    raw = direction.quantile_up(bundle.forecast(bundle.inputs(data.view.frame, origins)))
    last = int(origins[-1]) if len(origins) else int(data.fit[-1])
    base = direction.up_rate(data.labels, np.arange(int(data.fit[0]), last + 1))
    up = data.labels[origins] > 0
    return replace(bundle, direction=direction.fit_calibration(raw, up, base, source="quantiles"))


def can_fit_candles(data: TrainingSet) -> bool:
    """Whether the rows carry candle highs and lows to train the high/low head on."""
    return has_ranges(data.view.frame)


def shrinkage(bundle: ModelBundle, data: TrainingSet) -> tuple[float, ...]:
    """The factor in SHRINK_GRID that minimises the MAE ratio on `data.val`, averaged over horizons.

    One factor for all horizons (few parameters fitted on validation): a network that cannot beat
    the random walk there is pulled back to it (factor 0).
    """
    origins = data.val
    median = replace(bundle, shrink=None, band={}).forecast(
        bundle.inputs(data.view.frame, origins)
    )[..., 1]
    actual = data.labels[origins]
    naive = np.abs(actual).mean(axis=0)
    ratios = [(np.abs(f * median - actual).mean(axis=0) / naive).mean() for f in SHRINK_GRID]
    best = round(float(SHRINK_GRID[int(np.argmin(ratios))]), 2)
    return (best,) * bundle.horizon


def with_validation_band(
    bundle: ModelBundle, data: TrainingSet, sources: tuple[str, ...]
) -> ModelBundle:
    """The bundle with its 80% band chosen and calibrated on `data.val` (`choose_band`).

    The forecasts, and each origin's volatility, come from `bundle.inputs` exactly as at serving
    time, so the calibrated band is the band the backtest and the app build. Each candidate
    source's second-half coverage error is kept in `notes["band_validation_errors"]`.
    """
    origins = data.val
    inputs = bundle.inputs(data.view.frame, origins)
    forecast = replace(bundle, band={}).forecast(inputs)
    volatility = {s: bundle.origin_values(inputs, s) for s in VOLATILITY_SOURCES}
    volatility = {s: v for s, v in volatility.items() if v is not None}
    band, errors = choose_band(sources, forecast, data.labels[origins], volatility)
    return replace(bundle, band=band, notes={**bundle.notes, "band_validation_errors": errors})


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
