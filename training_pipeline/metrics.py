"""Forecast accuracy: point errors, direction, interval coverage, the Diebold-Mariano test."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - forecast)))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    return float(100.0 * np.mean(np.abs((actual - forecast) / actual)))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """MAE divided by `scale`, the mean absolute one-candle change of the close."""
    return float(mae(actual, forecast) / scale) if scale > 0 else math.nan


def directional_accuracy(
    origin: np.ndarray, actual: np.ndarray, forecast: np.ndarray
) -> tuple[float, float, float]:
    """Share of origins whose forecast direction matches the actual move, with its 95% interval.

    A forecast at or above the origin's close counts as "up", so persistence scores the share of
    up-moves: the bar any model has to clear.
    """
    hits = (forecast >= origin) == (actual > origin)
    return (float(hits.mean()), *wilson_interval(int(hits.sum()), len(hits)))


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of actual values inside [low, high]."""
    return float(np.mean((actual >= low) & (actual <= high)))


def mean_width(low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean(high - low))


def diebold_mariano(errors_a: np.ndarray, errors_b: np.ndarray, horizon: int) -> float:
    """Two-sided p-value that absolute errors a and b have equal mean (h-step forecasts).

    Uses the autocovariances up to lag h - 1 (overlapping h-step errors are correlated) and the
    Harvey-Leybourne-Newbold small-sample correction with a Student t reference.
    """
    d = np.abs(errors_a) - np.abs(errors_b)
    n = len(d)
    if n < 3 or np.allclose(d, 0.0):
        return 1.0
    centred = d - d.mean()
    variance = np.dot(centred, centred) / n
    for lag in range(1, min(horizon, n - 1)):
        variance += 2.0 * np.dot(centred[lag:], centred[:-lag]) / n
    if variance <= 0:  # the truncated estimate can go negative; fall back to lag 0
        variance = np.dot(centred, centred) / n
    statistic = d.mean() / math.sqrt(variance / n)
    factor = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
    correction = math.sqrt(factor) if factor > 0 else 1.0
    return float(2.0 * stats.t.sf(abs(statistic * correction), df=n - 1))
