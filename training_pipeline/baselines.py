"""The strong baselines: "no change" with an empirical-quantile band or a GARCH(1,1)-t band.

Both forecast a median log return of 0 (persistence) and differ in their 80% band:
- `empirical_band`: the 10% / 90% quantiles of the last `trail` h-candle log returns known at
  the origin. Nothing is fitted; it is the yardstick every interval score is divided by.
- `garch_band`: +-q_h * sqrt(V_h), where V_h is the variance of the h-candle return forecast by
  a GARCH(1,1) with Student-t innovations (fitted with the `arch` package on every return up to
  the fit origin) and q_h is the conformal 80% quantile of |h-candle return| / sqrt(V_h) over
  the last `trail` origins whose outcome was known at the fit origin. In a walk-forward the
  model is refitted every `refit_every` origins and its variance filtered daily in between.

Every function takes the log closes of one series (oldest first) and row positions `origins`,
and uses only `log_close[: origin + 1]` for the forecast at an origin. Serving needs no `arch`:
the fitted parameters are plain numbers and the variance filter is numpy.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from candlecast.errors import ValidationError
from training_pipeline.intervals import COVERAGE

logger = logging.getLogger(__name__)

TRAIL = 365  # trailing origins behind the empirical band and the GARCH band's calibration
GARCH_SPAN = 500  # returns each GARCH variance filter runs over before an origin
GARCH_REFIT_EVERY = 30
LEVELS = (0.1, 0.9)
_PERCENT = 100.0  # arch fits percent returns best; parameters are stored in log-return units


@dataclass(frozen=True)
class GarchParams:
    """sigma2[t+1] = omega + alpha * r[t]^2 + beta * sigma2[t], r in log-return units."""

    omega: float
    alpha: float
    beta: float
    nu: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def empirical_rows(horizon: int, trail: int = TRAIL) -> int:
    """Rows of history the empirical band needs at an origin (the origin's row included)."""
    return trail + horizon


def garch_rows(span: int = GARCH_SPAN) -> int:
    """Rows of history the GARCH band needs at an origin (the origin's row included)."""
    return span + 1


def empirical_band(
    log_close: np.ndarray, origins: np.ndarray, horizon: int, trail: int = TRAIL
) -> np.ndarray:
    """(n, horizon, 3) log-return quantiles: 0 and the trailing 10% / 90% h-candle returns."""
    log_close, origins = _checked(log_close, origins, empirical_rows(horizon, trail) - 1)
    out = np.zeros((len(origins), horizon, 3))
    for h in range(1, horizon + 1):
        moves = log_close[h:] - log_close[:-h]  # moves[s - h]: the h-candle return ending at s
        windows = np.lib.stride_tricks.sliding_window_view(moves, trail)
        # the window ending at origin o holds moves ending at o - trail + 1 .. o
        past = windows[origins - h - trail + 1]
        low, high = np.quantile(past, LEVELS, axis=1)
        out[:, h - 1, 0], out[:, h - 1, 2] = low, high
    return out


def fit_garch(returns: np.ndarray, start: GarchParams | None = None) -> GarchParams:
    """Fit a zero-mean GARCH(1,1) with Student-t innovations to log returns (needs `arch`)."""
    from arch import arch_model

    returns = np.asarray(returns, dtype=np.float64)
    if len(returns) < 100 or not np.all(np.isfinite(returns)):
        raise ValidationError(
            f"a GARCH band needs at least 100 finite returns, got {len(returns)}; "
            "backfill more history"
        )
    model = arch_model(
        _PERCENT * returns, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False
    )
    values = None
    if start is not None:
        values = np.array([start.omega * _PERCENT**2, start.alpha, start.beta, start.nu])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arch warns on slow convergence; the flag is checked
        result = model.fit(disp="off", show_warning=False, starting_values=values)
    if result.convergence_flag != 0:
        logger.warning("GARCH fit on %d returns did not fully converge", len(returns))
    p = result.params
    return GarchParams(
        omega=float(p["omega"]) / _PERCENT**2,
        alpha=float(p["alpha[1]"]),
        beta=float(p["beta[1]"]),
        nu=float(p["nu"]),
    )


def next_variance(
    log_close: np.ndarray, origins: np.ndarray, params: GarchParams, span: int = GARCH_SPAN
) -> np.ndarray:
    """sigma2 of the return after each origin, filtered over the `span` returns up to it.

    The filter starts from the span's sample variance, so the answer depends only on the rows
    origin - span .. origin: a backtest and the app, which reads just those rows, agree exactly.
    """
    log_close, origins = _checked(log_close, origins, garch_rows(span) - 1)
    returns = np.diff(log_close)  # returns[s - 1]: the return ending at row s
    windows = np.lib.stride_tricks.sliding_window_view(returns, span)[origins - span]
    variance = windows.var(axis=1)
    for k in range(span):
        variance = params.omega + params.alpha * windows[:, k] ** 2 + params.beta * variance
    return variance


def cumulative_variance(variance: np.ndarray, params: GarchParams, horizon: int) -> np.ndarray:
    """(n, horizon): the forecast variance of the 1..horizon-candle return after each origin.

    E[sigma2 k steps on] = omega * (1 + p + ... + p^(k-2)) + p^(k-1) * sigma2[t+1], with
    p = alpha + beta, summed over k = 1..h (returns are uncorrelated).
    """
    persistence = params.alpha + params.beta
    level = np.zeros(horizon)  # omega * (1 + p + ... + p^(k-2)) for k = 1..horizon
    weight = np.ones(horizon)  # p^(k-1)
    for k in range(1, horizon):
        level[k] = level[k - 1] * persistence + params.omega
        weight[k] = weight[k - 1] * persistence
    return np.cumsum(level)[None, :] + np.cumsum(weight)[None, :] * np.asarray(variance)[:, None]


def garch_scale(
    log_close: np.ndarray,
    origins: np.ndarray,
    params: GarchParams,
    horizon: int,
    span: int = GARCH_SPAN,
) -> np.ndarray:
    """(n, horizon) standard deviation of the h-candle return forecast at each origin."""
    variance = next_variance(log_close, origins, params, span)
    return np.sqrt(np.maximum(cumulative_variance(variance, params, horizon), 1e-18))


def garch_widths(
    log_close: np.ndarray,
    fit_origin: int,
    params: GarchParams,
    horizon: int,
    *,
    trail: int = TRAIL,
    span: int = GARCH_SPAN,
) -> np.ndarray:
    """Per horizon, the conformal 80% quantile of |h-candle return| / its GARCH scale.

    Scored on the last `trail` origins whose h-candle outcome had closed by `fit_origin`.
    """
    first = fit_origin - horizon - trail + 1
    if first < span:
        raise ValidationError(
            f"the GARCH band needs {span + horizon + trail} rows before its fit origin, got "
            f"{fit_origin + 1}; backfill more history"
        )
    past = np.arange(first, fit_origin)
    scale = garch_scale(log_close, past, params, horizon, span)
    level = min(1.0, np.ceil((trail + 1) * COVERAGE) / trail)
    widths = np.empty(horizon)
    for h in range(1, horizon + 1):
        starts = np.arange(fit_origin - h - trail + 1, fit_origin - h + 1)
        scores = np.abs(log_close[starts + h] - log_close[starts]) / scale[starts - first, h - 1]
        widths[h - 1] = np.quantile(scores, level, method="higher")
    return widths


def garch_band(
    log_close: np.ndarray,
    origins: np.ndarray,
    params: GarchParams,
    widths: np.ndarray,
    span: int = GARCH_SPAN,
) -> np.ndarray:
    """(n, horizon, 3) log-return quantiles: 0 and +-widths times the GARCH scale."""
    widths = np.asarray(widths, dtype=np.float64)
    scale = garch_scale(log_close, origins, params, len(widths), span)
    out = np.zeros((*scale.shape, 3))
    out[..., 0], out[..., 2] = -widths * scale, widths * scale
    return out


@dataclass(frozen=True)
class GarchFit:
    """A GARCH band fitted at one origin: its parameters and per-horizon widths."""

    origin: int
    params: GarchParams
    widths: np.ndarray


def fit_garch_band(
    log_close: np.ndarray,
    fit_origin: int,
    horizon: int,
    *,
    trail: int = TRAIL,
    span: int = GARCH_SPAN,
    start: GarchParams | None = None,
) -> GarchFit:
    """Fit the GARCH on every return up to `fit_origin`, then its widths on the trailing origins."""
    params = fit_garch(np.diff(np.asarray(log_close)[: fit_origin + 1]), start)
    widths = garch_widths(log_close, fit_origin, params, horizon, trail=trail, span=span)
    return GarchFit(fit_origin, params, widths)


def garch_walk_forward(
    log_close: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    *,
    refit_every: int = GARCH_REFIT_EVERY,
    trail: int = TRAIL,
    span: int = GARCH_SPAN,
) -> np.ndarray:
    """(n, horizon, 3) GARCH band at each origin, refitted at every `refit_every`-th origin."""
    origins = np.asarray(origins, dtype=np.int64)
    out = np.zeros((len(origins), horizon, 3))
    fit = None
    for start in range(0, len(origins), refit_every):
        block = slice(start, start + refit_every)
        fit = fit_garch_band(
            log_close,
            int(origins[start]),
            horizon,
            trail=trail,
            span=span,
            start=fit.params if fit else None,
        )
        out[block] = garch_band(log_close, origins[block], fit.params, fit.widths, span)
    return out


def _checked(
    log_close: np.ndarray, origins: np.ndarray, history: int
) -> tuple[np.ndarray, np.ndarray]:
    log_close = np.asarray(log_close, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) and origins.min() < history:
        raise ValidationError(
            f"an origin at row {int(origins.min())} has fewer than {history + 1} rows up to it, "
            "which the baseline band needs; read more rows of the series or start later"
        )
    return log_close, origins
