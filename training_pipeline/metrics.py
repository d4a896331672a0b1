"""Forecast accuracy: point errors, proper interval scores, direction, the Diebold-Mariano test."""

from __future__ import annotations

import math

import numpy as np

ALPHA = 0.2  # the 80% interval's miss rate, as the interval score sees it
Z95 = 1.959964


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - forecast)))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    return float(100.0 * np.mean(np.abs((actual - forecast) / actual)))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """MAE over `scale`, the in-sample MAE of the one-step naive forecast (Hyndman-Koehler)."""
    return float(mae(actual, forecast) / scale) if scale > 0 else math.nan


def naive_scale(close: np.ndarray) -> float:
    """MASE's scale: the mean absolute one-candle change of the fitting data's closes."""
    close = np.asarray(close, dtype=np.float64)
    return float(np.mean(np.abs(np.diff(close)))) if len(close) > 1 else math.nan


def winkler(actual: np.ndarray, low: np.ndarray, high: np.ndarray, alpha: float = ALPHA) -> float:
    """Mean interval score of central (1 - alpha) intervals: width plus 2/alpha times each miss.

    A proper score (Gneiting & Raftery 2007): lower is better, and a band that is off-centre
    pays for every actual outside it, so coverage and width cannot hide each other.
    """
    actual, low, high = (np.asarray(a, dtype=np.float64) for a in (actual, low, high))
    below = np.maximum(low - actual, 0.0)
    above = np.maximum(actual - high, 0.0)
    return float(np.mean(high - low + (2.0 / alpha) * (below + above)))


def pinball(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> float:
    """Mean pinball (quantile) loss over levels, e.g. {0.1: low, 0.5: median, 0.9: high}."""
    actual = np.asarray(actual, dtype=np.float64)
    losses = []
    for level, forecast in quantiles.items():
        error = actual - np.asarray(forecast, dtype=np.float64)
        losses.append(np.mean(np.maximum(level * error, (level - 1.0) * error)))
    return float(np.mean(losses))


def directional_accuracy(
    origin: np.ndarray, actual: np.ndarray, forecast: np.ndarray, horizon: int = 1
) -> tuple[float, float, float]:
    """Share of origins whose forecast direction matches the actual move, with its 95% interval.

    A forecast at or above the origin's close counts as "up", so persistence scores the share of
    up-moves: the bar any model has to clear. Consecutive h-candle moves overlap, so the interval
    uses the effective number of independent outcomes (`effective_size`).
    """
    hits = (forecast >= origin) == (actual > origin)
    return (float(hits.mean()), *proportion_interval(hits, horizon))


def proportion_interval(hits: np.ndarray, horizon: int = 1) -> tuple[float, float]:
    """The 95% Wilson interval of a share of hits that may overlap over `horizon` candles."""
    hits = np.asarray(hits, dtype=np.float64)
    return wilson_interval(float(hits.sum()), len(hits), n_eff=effective_size(hits, horizon))


def effective_size(values: np.ndarray, horizon: int) -> float:
    """How many independent observations `values` are worth when h-step outcomes overlap.

    n times the lag-0 variance over the long-run variance (Bartlett weights up to lag h - 1,
    the Newey-West estimate), kept within [1, n]; h = 1 gives n.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2 or horizon <= 1:
        return float(n)
    centred = x - x.mean()
    gamma0 = float(np.dot(centred, centred)) / n
    if gamma0 <= 0:
        return float(n)
    long_run = gamma0
    for lag in range(1, min(horizon, n - 1)):
        weight = 1.0 - lag / horizon
        long_run += 2.0 * weight * float(np.dot(centred[lag:], centred[:-lag])) / n
    if long_run <= 0:
        return float(n)
    return float(min(n, max(1.0, n * gamma0 / long_run)))


def wilson_interval(
    successes: float, n: int, z: float = Z95, n_eff: float | None = None
) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion, on `n_eff` observations if given."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    m = n if n_eff is None else n_eff
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    return centre - half, centre + half


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of actual values inside [low, high]."""
    return float(np.mean(inside(actual, low, high)))


def inside(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return (np.asarray(actual) >= low) & (np.asarray(actual) <= high)


def mean_width(low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean(high - low))


def diebold_mariano(
    loss_a: np.ndarray, loss_b: np.ndarray, horizon: int, *, alternative: str = "two-sided"
) -> float:
    """p-value of the Diebold-Mariano test that losses a and b have equal mean (h-step forecasts).

    Pass errors to compare absolute errors (their absolute values are taken) or any losses.
    `alternative="less"` is one-sided: a small p-value says a's loss is smaller. Uses the
    autocovariances up to lag h - 1 (overlapping h-step errors are correlated) and the
    Harvey-Leybourne-Newbold small-sample correction with a Student t reference.
    """
    if alternative not in ("two-sided", "less"):
        raise ValueError(f"alternative must be 'two-sided' or 'less', got {alternative!r}")
    from scipy import stats  # the train extra

    d = np.abs(loss_a) - np.abs(loss_b)
    n = len(d)
    if n < 3 or np.allclose(d, 0.0):
        return 1.0 if alternative == "two-sided" else 0.5
    centred = d - d.mean()
    variance = np.dot(centred, centred) / n
    for lag in range(1, min(horizon, n - 1)):
        variance += 2.0 * np.dot(centred[lag:], centred[:-lag]) / n
    if variance <= 0:  # the truncated estimate can go negative; fall back to lag 0
        variance = np.dot(centred, centred) / n
    statistic = d.mean() / math.sqrt(variance / n)
    factor = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
    statistic *= math.sqrt(factor) if factor > 0 else 1.0
    if alternative == "less":
        return float(stats.t.cdf(statistic, df=n - 1))
    return float(2.0 * stats.t.sf(abs(statistic), df=n - 1))


def brier(probability: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between forecast probabilities and 0/1 outcomes (lower is better)."""
    p = np.asarray(probability, dtype=np.float64)
    return float(np.mean((p - np.asarray(outcome, dtype=np.float64)) ** 2))


def skill(score: float, reference: float) -> float:
    """1 - score / reference: above 0 when `score` beats the reference's (lower-is-better) score."""
    return 1.0 - score / reference if reference > 0 else math.nan


def reliability(
    probability: np.ndarray, outcome: np.ndarray, bins: int = 10
) -> list[dict[str, float]]:
    """Per probability bin of width 1/bins that holds forecasts: count, mean forecast, up-rate."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        inside_bin = which == b
        if inside_bin.any():
            table.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "count": int(inside_bin.sum()),
                    "mean_p": float(p[inside_bin].mean()),
                    "up_rate": float(y[inside_bin].mean()),
                }
            )
    return table
