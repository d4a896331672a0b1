"""The training set of one series: splits, labels and scalers fitted on the training split."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from training_pipeline.config import TrainConfig
from training_pipeline.data import (
    FeatureView,
    Scaler,
    Splits,
    fit_scaler,
    future_log_returns,
    make_splits,
)
from training_pipeline.windows import window_view

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSet:
    """A feature view prepared for training: everything fitted comes from `splits.train` only."""

    view: FeatureView
    splits: Splits
    scaler: Scaler
    labels: np.ndarray  # (rows, horizon) future log returns, NaN where unknown
    target_scale: tuple[float, ...]  # per-horizon std of training labels
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
    """Compute labels, split the origins and fit the scalers on the training split."""
    labels = future_log_returns(view.close, config.horizon)
    splits = make_splits(
        len(view.frame),
        horizon=config.horizon,
        val_size=config.val_size,
        test_size=config.test_size,
        first_origin=config.max_window - 1,
    )
    scaler = fit_scaler(view.frame, view.feature_columns, splits.train)
    target_scale = np.std(labels[splits.train], axis=0)
    target_scale = np.where(target_scale > 1e-12, target_scale, 1.0)
    scaled = scaler.transform(view.frame[list(view.feature_columns)].to_numpy())
    logger.info("splits for %s %s: %s", view.symbol, view.interval, splits.describe(view.open_time))
    return TrainingSet(view, splits, scaler, labels, tuple(target_scale.tolist()), scaled)
