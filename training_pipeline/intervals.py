"""80% prediction intervals that follow the volatility regime known at each forecast origin.

One band function serves training, the walk-forward backtest and the app (`apply_band`): around
the median return `m`, the interval is `m - q_h * below` .. `m + q_h * above`, where `below` /
`above` are scales known at the origin and `q_h` is the conformal 80% quantile, over the
validation origins, of the normalised score `max((m - y) / below, (y - m) / above)` at horizon h
(split conformal calibration; `y` is the actual log return).

The scales come from one of SCALE_SOURCES:
- a volatility feature of the origin row (`vol_30`, `vol_7`, `atr_14`) times sqrt(h), the same
  below and above: the band widens and narrows with the current regime;
- `model`: a network's own predicted half-widths below / above the median (conformalised
  quantile regression);
- `none`: a constant 1, a fixed symmetric band that ignores the regime.

Which source a bundle uses is chosen on the validation split only (`choose_band`): calibrate
on its first half, score the coverage on its second half, keep the source whose coverage stays
closest to 80%, then calibrate that source on the whole validation split.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

COVERAGE = 0.8
VOLATILITY_SOURCES = ("vol_30", "vol_7", "atr_14")
SCALE_SOURCES = (*VOLATILITY_SOURCES, "model", "none")
TINY = 1e-12


def scales(
    source: str, forecast: np.ndarray, volatility: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The per-origin, per-horizon scale below and above the median: two (n, horizon) arrays.

    `forecast` is (n, horizon, 3) as (low, median, high); `volatility` is the origin rows'
    value of `source` (n,), needed only for a volatility source.
    """
    n, horizon = forecast.shape[:2]
    if source == "none":
        ones = np.ones((n, horizon))
        return ones, ones
    if source == "model":
        median = forecast[..., 1]
        below = np.maximum(median - forecast[..., 0], TINY)
        return below, np.maximum(forecast[..., 2] - median, TINY)
    if volatility is None:
        raise ValueError(f"band scale {source!r} needs the origin rows' {source} values")
    vol = np.maximum(np.asarray(volatility, dtype=np.float64), TINY)[:, None]
    scale = vol * np.sqrt(np.arange(1, horizon + 1))[None, :]
    return scale, scale


def apply_band(
    forecast: np.ndarray, band: dict[str, Any], volatility: np.ndarray | None = None
) -> np.ndarray:
    """The forecast with its low / high replaced by the calibrated band (a new array)."""
    below, above = scales(band.get("scale_by", "none"), forecast, volatility)
    width = np.asarray(band["width"], dtype=np.float64)[None, :]
    out = np.array(forecast, dtype=np.float64)
    out[..., 0] = out[..., 1] - width * below
    out[..., 2] = out[..., 1] + width * above
    return out


def fit_band(
    source: str,
    forecast: np.ndarray,
    actual: np.ndarray,
    volatility: np.ndarray | None = None,
    coverage: float = COVERAGE,
) -> dict[str, Any]:
    """Per-horizon conformal quantiles of the normalised scores: the band's `width`."""
    below, above = scales(source, forecast, volatility)
    median = forecast[..., 1]
    scores = np.maximum((median - actual) / below, (actual - median) / above)
    n = len(actual)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    width = np.quantile(scores, level, axis=0, method="higher")
    return {"scale_by": source, "width": width.tolist()}


def band_coverage(
    band: dict[str, Any],
    forecast: np.ndarray,
    actual: np.ndarray,
    volatility: np.ndarray | None = None,
) -> np.ndarray:
    """The share of `actual` inside the band, per horizon."""
    banded = apply_band(forecast, band, volatility)
    return ((banded[..., 0] <= actual) & (actual <= banded[..., 2])).mean(axis=0)


def choose_band(
    sources: tuple[str, ...],
    forecast: np.ndarray,
    actual: np.ndarray,
    volatility: dict[str, np.ndarray],
) -> tuple[dict[str, Any], dict[str, float]]:
    """Pick the scale source on validation halves, then calibrate it on all of validation.

    `forecast` / `actual` are the validation origins' (oldest first); `volatility` maps each
    volatility source to its origin values. A volatility source is eligible only where every
    value is positive and finite. Returns the band and, per eligible source, its second-half
    mean absolute coverage error (the selection score; ties go to the earlier source).
    """
    half = len(actual) // 2
    errors: dict[str, float] = {}
    for source in sources:
        vol = volatility.get(source)
        if source in VOLATILITY_SOURCES and not _usable(vol):
            continue
        early, late = _part(vol, slice(0, half)), _part(vol, slice(half, None))
        first = fit_band(source, forecast[:half], actual[:half], early)
        covered = band_coverage(first, forecast[half:], actual[half:], late)
        errors[source] = float(np.mean(np.abs(covered - COVERAGE)))
    best = min(errors, key=errors.get)
    logger.info("band scale chosen on validation halves: %s (errors %s)", best, errors)
    return fit_band(best, forecast, actual, volatility.get(best)), errors


def _usable(values: np.ndarray | None) -> bool:
    return values is not None and bool(np.all(np.isfinite(values)) and np.all(values > 0))


def _part(values: np.ndarray | None, part: slice) -> np.ndarray | None:
    return None if values is None else values[part]
