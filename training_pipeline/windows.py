"""Model inputs: scaled feature windows ending at each forecast origin (training and serving)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError
from training_pipeline.feature_view import check_features
from training_pipeline.scaler import Scaler


def window_view(scaled: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """Windows of `window` rows ending at each origin (inclusive): (origins, window, columns)."""
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) and origins.min() < window - 1:
        raise ValidationError(
            f"an origin at row {int(origins.min())} has fewer than window={window} rows before it; "
            "start the origins later or use a shorter window"
        )
    windows = np.lib.stride_tricks.sliding_window_view(scaled, window, axis=0)
    # sliding_window_view puts the window axis last: (starts, columns, window)
    return np.ascontiguousarray(windows[origins - window + 1].transpose(0, 2, 1))


def model_inputs(
    features: pd.DataFrame,
    *,
    columns: tuple[str, ...],
    scaler: Scaler | None,
    window: int,
    origins: np.ndarray | None = None,
) -> np.ndarray:
    """The exact model input: scale the feature columns, then cut windows ending at `origins`.

    `origins` defaults to the last row, which is what serving forecasts from. Training, the
    walk-forward backtest and the app all go through this function.
    """
    if len(features) < window:
        raise ValidationError(
            f"{len(features)} feature rows given but the model needs the last {window}; "
            "read more rows of the series"
        )
    check_features(features, columns)
    values = features[list(columns)].to_numpy(dtype=np.float64)
    scaled = scaler.transform(values) if scaler is not None else values.astype(np.float32)
    if origins is None:
        origins = np.array([len(features) - 1])
    return window_view(scaled, origins, window)
