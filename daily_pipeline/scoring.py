"""Scoring: each logged forecast whose target candle has closed, against that candle's close."""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.intervals import last_closed_open
from daily_pipeline.adaptive import ALPHA
from daily_pipeline.groups import KEY, OUTCOMES, PREDICTIONS
from feature_pipeline.groups import CANDLES
from feature_pipeline.sync import read_or_empty
from feature_store.base import FeatureStore

logger = logging.getLogger(__name__)


def score(store: FeatureStore, symbol: str, interval: str, *, now: datetime) -> int:
    """Write the outcome of every logged forecast whose target candle closed by `now`, is
    stored, and has no outcome yet; the rows written."""
    predictions = read_or_empty(store, PREDICTIONS, symbol=symbol, interval=interval)
    if predictions.empty:
        return 0
    candles = read_or_empty(
        store,
        CANDLES,
        symbol=symbol,
        interval=interval,
        end=last_closed_open(now, interval),
        columns=["open_time", "close"],
    )
    actual = pd.Series(
        candles["close"].to_numpy(dtype=np.float64), index=pd.DatetimeIndex(candles["open_time"])
    )
    due = predictions.loc[predictions["target_time"].isin(actual.index)]
    scored = read_or_empty(store, OUTCOMES, symbol=symbol, interval=interval, columns=list(KEY))
    if not scored.empty:
        done = pd.MultiIndex.from_frame(scored[list(KEY)])
        due = due.loc[~pd.MultiIndex.from_frame(due[list(KEY)]).isin(done)]
    if due.empty:
        return 0
    rows = outcomes(due, actual.reindex(pd.DatetimeIndex(due["target_time"])).to_numpy())
    result = store.upsert(OUTCOMES, rows)
    written = result.inserted + result.updated
    logger.info("%s %s: %d forecast(s) scored", symbol, interval, written)
    return written


def outcomes(predictions: pd.DataFrame, actual: np.ndarray) -> pd.DataFrame:
    """The predictions with their actual close, error, hit and interval (Winkler) score."""
    low = predictions["low"].to_numpy(dtype=np.float64)
    high = predictions["high"].to_numpy(dtype=np.float64)
    frame = predictions.assign(
        actual=actual,
        error=predictions["median"].to_numpy(dtype=np.float64) - actual,
        inside=(actual >= low) & (actual <= high),
        interval_score=interval_score(actual, low, high),
    )
    return frame[list(OUTCOMES.schema.names)].reset_index(drop=True)


def interval_score(actual: np.ndarray, low: np.ndarray, high: np.ndarray, alpha: float = ALPHA):
    """Winkler's score of each interval: its width plus 2/alpha times the miss distance."""
    below = np.maximum(low - actual, 0.0)
    above = np.maximum(actual - high, 0.0)
    return (high - low) + (2.0 / alpha) * (below + above)
