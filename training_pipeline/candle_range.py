"""Predicted candles: quantiles of each future candle's high and low, relative to the origin close.

The targets are log(high[t+h] / close[t]) and log(low[t+h] / close[t]) (`windows.range_labels`).
Networks forecast them with a second quantile head; the baselines with the empirical 10% / 50% /
90% quantiles of the same labels over the last `trail` origins whose outcome is known at the
origin. Both are scored against the persistence range: the last candle's high and low relative
to its close, applied to the origin close (high_hat = close[t] * high[t] / close[t] = high[t]).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from candlecast.errors import CandlecastError
from feature_pipeline.groups import CANDLES
from feature_store.base import FeatureStore
from training_pipeline import metrics as m
from training_pipeline.feature_view import FeatureView
from training_pipeline.windows import RANGE_COLUMNS, has_ranges, range_labels

logger = logging.getLogger(__name__)

LEVELS = (0.1, 0.5, 0.9)


def with_candles(view: FeatureView, store: FeatureStore) -> FeatureView:
    """The view with each row's candle high and low joined on open time (unchanged if absent)."""
    try:
        candles = store.read(
            CANDLES,
            symbol=view.symbol,
            interval=view.interval,
            columns=["open_time", "high", "low"],
        )
    except CandlecastError as error:
        logger.info(
            "no candles for %s %s (%s): no high/low forecasts", view.symbol, view.interval, error
        )
        return view
    if candles.empty:
        return view
    frame = view.frame.drop(columns=[c for c in RANGE_COLUMNS if c in view.frame.columns])
    times = pd.to_datetime(candles["open_time"], utc=True)
    joined = frame.merge(
        candles.assign(open_time=times)[["open_time", *RANGE_COLUMNS]], on="open_time", how="left"
    )
    if not has_ranges(joined):
        logger.warning(
            "%s %s: some feature rows have no candle high/low; no high/low forecasts",
            view.symbol,
            view.interval,
        )
        return view
    return replace(view, frame=joined)


def empirical_range(
    frame: pd.DataFrame, origins: np.ndarray, horizon: int, trail: int
) -> np.ndarray:
    """(n, horizon, 2, 3): per origin, the trailing quantiles of the high and low labels.

    At origin o and horizon h the labels of starts o - h - trail + 1 .. o - h are used: their
    candle o' + h has closed by o.
    """
    labels = range_labels(frame, horizon)
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) and origins.min() < trail + horizon - 1:
        raise ValueError(
            f"an origin at row {int(origins.min())} has fewer than {trail + horizon} rows up to "
            "it, which the empirical high/low quantiles need"
        )
    out = np.zeros((len(origins), horizon, 2, 3))
    for h in range(1, horizon + 1):
        windows = np.lib.stride_tricks.sliding_window_view(labels[:, h - 1, :], trail, axis=0)
        past = windows[origins - h - trail + 1]  # (n, 2, trail)
        out[:, h - 1] = np.moveaxis(np.quantile(past, LEVELS, axis=-1), 0, -1)
    return out


def range_scores(
    frame: pd.DataFrame, origins: np.ndarray, forecast: np.ndarray, horizons: tuple[int, ...]
) -> dict[str, float]:
    """Per horizon: MAE of the predicted high and low (medians) and of the persistence range.

    `forecast` is (n, horizon, 2, 3) log quantiles relative to each origin's close.
    """
    origins = np.asarray(origins, dtype=np.int64)
    close = frame["close"].to_numpy(dtype=np.float64)
    out: dict[str, float] = {}
    for k, column in enumerate(RANGE_COLUMNS):
        extreme = frame[column].to_numpy(dtype=np.float64)
        for h in horizons:
            if h > forecast.shape[1]:
                continue
            actual = extreme[origins + h]
            low, median, high = (
                close[origins] * np.exp(forecast[:, h - 1, k, q]) for q in range(3)
            )
            model = m.mae(actual, median)
            naive = m.mae(actual, extreme[origins])
            out[f"{column}_mae_h{h}"] = model
            out[f"{column}_range_mae_h{h}"] = naive
            out[f"{column}_mae_ratio_h{h}"] = model / naive if naive > 0 else float("nan")
            out[f"{column}_coverage80_h{h}"] = m.coverage(actual, low, high)
    return out
