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


RANGE_COLUMNS = ("high", "low")


def has_ranges(frame: pd.DataFrame) -> bool:
    """Whether the rows carry each candle's positive, finite high and low (joined from candles)."""
    if any(c not in frame.columns for c in RANGE_COLUMNS):
        return False
    values = frame[list(RANGE_COLUMNS)].to_numpy(dtype=np.float64)
    return bool(np.isfinite(values).all() and (values > 0).all())


def range_labels(frame: pd.DataFrame, horizon: int) -> np.ndarray:
    """Labels log(high[t+h] / close[t]) and log(low[t+h] / close[t]): (rows, horizon, 2).

    The h-step label uses candle t+h alone (not the highest high over t+1..t+h); NaN past the
    end. Computed at training and evaluation time only, never stored.
    """
    if not has_ranges(frame):
        raise ValidationError(
            "rows lack each candle's high and low; join them from the candles group "
            "(training_pipeline.candle_range.with_candles)"
        )
    log_close = np.log(frame["close"].to_numpy(dtype=np.float64))
    labels = np.full((len(frame), horizon, 2), np.nan)
    for k, column in enumerate(RANGE_COLUMNS):
        log_extreme = np.log(frame[column].to_numpy(dtype=np.float64))
        for h in range(1, horizon + 1):
            labels[:-h, h - 1, k] = log_extreme[h:] - log_close[:-h]
    return labels
