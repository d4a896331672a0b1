"""The training set of one fit: its origins, labels, and scalers fitted on its fitting rows only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from candlecast.errors import ValidationError
from training_pipeline.config import TrainConfig
from training_pipeline.feature_view import FeatureView, future_log_returns
from training_pipeline.periods import Splits, make_splits
from training_pipeline.scaler import Scaler, fit_scaler
from training_pipeline.windows import window_view

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSet:
    """A feature view prepared for one fit: the weights see `fit`, early stopping sees `val`.

    The scalers come from the rows up to the last `fit` origin only. The first fit of a run uses
    the train and val periods of `splits`; a refit moves both later (`refit_set`).
    """

    view: FeatureView
    splits: Splits
    fit: np.ndarray
    val: np.ndarray
    scaler: Scaler
    labels: np.ndarray  # (rows, horizon) future log returns, NaN where unknown
    target_scale: tuple[float, ...]  # per-horizon std of the fitting labels
    scaled: np.ndarray  # (rows, features) inputs scaled with `scaler`

    @property
    def horizon(self) -> int:
        return self.labels.shape[1]

    @property
    def n_features(self) -> int:
        return self.scaled.shape[1]

    def arrays(self, origins: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs and scaled targets for the given origins."""
        x = window_view(self.scaled, origins, window)
        y = (self.labels[origins] / np.asarray(self.target_scale)).astype(np.float32)
        return x, y


def prepare(view: FeatureView, config: TrainConfig) -> TrainingSet:
    """Compute labels, split the origins into periods and fit the scalers on the train period."""
    labels = future_log_returns(view.close, config.horizon)
    splits = make_splits(
        len(view.frame),
        horizon=config.horizon,
        val_size=config.val_size,
        selection_size=config.selection_size,
        test_size=config.test_size,
        first_origin=config.max_window - 1,
    )
    logger.info("periods of %s %s: %s", view.symbol, view.interval, splits.describe(view.open_time))
    return training_set(view, splits, labels, splits.train, splits.val)


def training_set(
    view: FeatureView, splits: Splits, labels: np.ndarray, fit: np.ndarray, val: np.ndarray
) -> TrainingSet:
    """A training set whose scalers are fitted on the rows up to the last `fit` origin."""
    scaler = fit_scaler(view.frame, view.feature_columns, fit)
    target_scale = np.std(labels[fit], axis=0)
    target_scale = np.where(target_scale > 1e-12, target_scale, 1.0)
    scaled = scaler.transform(view.frame[list(view.feature_columns)].to_numpy())
    return TrainingSet(view, splits, fit, val, scaler, labels, tuple(target_scale.tolist()), scaled)


def refit_set(
    data: TrainingSet, cutoff: int, *, calibration: int
) -> tuple[TrainingSet, TrainingSet]:
    """The two fits of a refit at row `cutoff` (the last candle whose close is known).

    The first ends `calibration + horizon` origins early, so its forecasts on the last
    `calibration` labelled origins are out of sample: they calibrate the shrinkage and band.
    The second is fitted on every origin whose labels have closed by `cutoff`; it is served.
    """
    first = int(data.splits.train[0])
    last_labelled = cutoff - data.horizon
    recent = np.arange(last_labelled - calibration + 1, last_labelled + 1)
    early = np.arange(first, recent[0] - data.horizon)
    if len(early) < max(2 * data.horizon, 50):
        raise ValidationError(
            f"a refit at row {cutoff} leaves {len(early)} fitting origins before its "
            f"{calibration}-origin calibration window; backfill more history"
        )
    calibrate = training_set(data.view, data.splits, data.labels, early, recent)
    full = training_set(
        data.view, data.splits, data.labels, np.arange(first, last_labelled + 1), recent[:0]
    )
    return calibrate, full
