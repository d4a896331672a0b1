"""Adaptive bands: adaptive conformal inference over the scored forecasts of the served model.

Gibbs & Candès (2021). Per horizon, each scored forecast gets a conformity score: how far the
close fell from the median in units of the model's own half-band on that side (in log prices;
1 is the band's edge). The band served at an origin is the model's band scaled by the
(1 - alpha_t) quantile of the last `WINDOW` scores known at that origin, and after each scored
forecast the miss level moves by `GAMMA * (ALPHA - missed)`, so misses widen the next bands
and hits narrow them until the long-run coverage is 80%.

Everything is recomputed from the log (the scale each forecast was served with is logged), so
the state needs no storage of its own and two runs over the same log agree.
"""

from __future__ import annotations

import numpy as np

ALPHA = 0.2  # the target miss rate of the 80% band
GAMMA = 0.005  # the step of the miss level (Gibbs & Candès' choice)
WINDOW = 365  # scores the quantile is taken over
MIN_SCORES = 30  # below this many scored forecasts the band is served as the model made it
# Horizons whose served band adapts; chosen on the 2024 hindcast replay (benchmarks/adaptive.py).
ADAPTED: frozenset[int] = frozenset()


def conformity(
    actual: np.ndarray, median: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """|log actual - log median| in units of the unscaled half-band on the actual's side."""
    log_actual, log_median = np.log(actual), np.log(median)
    above = log_actual >= log_median
    half = np.where(above, np.log(high) - log_median, log_median - np.log(low))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(log_actual - log_median) / np.maximum(half / scale, 1e-12)


def adapt(
    origins: np.ndarray,
    targets: np.ndarray,
    scores: np.ndarray,
    scales: np.ndarray,
    *,
    alpha: float = ALPHA,
    gamma: float = GAMMA,
    window: int = WINDOW,
) -> np.ndarray:
    """Fill the NaN `scales` of forecasts (sorted by origin) from the outcomes known before them.

    A forecast's outcome is known at every origin at or after its target; `scores` is NaN where
    the outcome is not known at all. Given scales (those already served) are kept.
    """
    scales = np.asarray(scales, dtype=np.float64).copy()
    order = np.argsort(targets, kind="stable")
    level, seen, p = alpha, [], 0
    for k in range(len(origins)):
        while p < len(order) and targets[order[p]] <= origins[k]:
            j = order[p]
            p += 1
            if np.isfinite(scores[j]):
                level += gamma * (alpha - float(scores[j] > scales[j]))
                seen.append(scores[j])
        if np.isnan(scales[k]):
            if len(seen) < MIN_SCORES:
                scales[k] = 1.0
            else:
                recent = np.asarray(seen[-window:])
                scales[k] = float(np.quantile(recent, min(max(1.0 - level, 0.0), 1.0)))
    return scales


def scaled_band(median: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray):
    """The band with each half scaled by `scale` in log prices around the median."""
    log_median = np.log(median)
    return (
        np.exp(log_median - scale * (log_median - np.log(low))),
        np.exp(log_median + scale * (np.log(high) - log_median)),
    )
