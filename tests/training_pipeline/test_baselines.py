"""Tests for the baselines: the empirical-quantile band and the GARCH(1,1)-t band."""

from __future__ import annotations

import numpy as np
import pytest

from candlecast.errors import ValidationError
from training_pipeline import baselines as b


def garch_series(rows: int = 2500, seed: int = 2) -> tuple[np.ndarray, b.GarchParams]:
    """Log closes of a simulated GARCH(1,1) with Student-t(6) shocks, and its parameters."""
    true = b.GarchParams(omega=4e-6, alpha=0.08, beta=0.9, nu=6.0)
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(true.nu, size=rows) * np.sqrt((true.nu - 2) / true.nu)
    variance = true.omega / (1 - true.alpha - true.beta)
    returns = np.empty(rows)
    for t in range(rows):
        returns[t] = np.sqrt(variance) * shocks[t]
        variance = true.omega + true.alpha * returns[t] ** 2 + true.beta * variance
    return np.log(100.0) + np.concatenate([[0.0], np.cumsum(returns)]), true


def test_empirical_band_is_the_trailing_quantiles_of_h_candle_moves() -> None:
    """It takes the 10% / 90% quantiles of the last `trail` h-candle log returns, median 0."""
    rng = np.random.default_rng(0)
    log_close = np.cumsum(rng.normal(0, 0.02, 400))
    origin, h, trail = 250, 4, 60
    band = b.empirical_band(log_close, np.array([origin]), horizon=5, trail=trail)
    ends = np.arange(origin - trail + 1, origin + 1)
    moves = log_close[ends] - log_close[ends - h]
    np.testing.assert_allclose(band[0, h - 1, [0, 2]], np.quantile(moves, [0.1, 0.9]))
    assert band[0, h - 1, 1] == 0.0
    with pytest.raises(ValidationError, match="rows up to it"):
        b.empirical_band(log_close, np.array([trail + 3]), horizon=5, trail=trail)


def test_the_variance_filter_and_its_forecast_match_arch() -> None:
    """It filters and forecasts the h-step variance exactly as the arch package does."""
    from arch import arch_model

    log_close, true = garch_series(1200)
    origin, span, horizon = 1100, 800, 10
    returns = np.diff(log_close)[origin - span : origin]  # the span of returns up to the origin
    model = arch_model(100 * returns, mean="Zero", vol="GARCH", dist="t", rescale=False)
    fixed = model.fix([true.omega * 1e4, true.alpha, true.beta, true.nu])
    expected = fixed.forecast(horizon=horizon, reindex=False).variance.to_numpy()[0] / 1e4
    ours = b.cumulative_variance(
        b.next_variance(log_close, np.array([origin]), true, span), true, horizon
    )[0]
    # arch starts its filter from a backcast, ours from the span's variance: 800 steps of
    # beta = 0.9 erase the difference
    np.testing.assert_allclose(ours, np.cumsum(expected), rtol=1e-8)


def test_fit_recovers_the_parameters_of_a_simulated_garch() -> None:
    """It estimates alpha, beta and the t degrees of freedom near the simulated ones."""
    log_close, true = garch_series(4000, seed=3)
    fitted = b.fit_garch(np.diff(log_close))
    assert fitted.alpha == pytest.approx(true.alpha, abs=0.04)
    assert fitted.beta == pytest.approx(true.beta, abs=0.05)
    assert 4 < fitted.nu < 12


def test_garch_band_covers_80_percent_out_of_sample() -> None:
    """It covers close to 80% of later outcomes at every horizon, refitted every 30 origins."""
    log_close, _ = garch_series(2500, seed=4)
    horizon = 7
    origins = np.arange(1600, 2400)
    band = b.garch_walk_forward(log_close, origins, horizon, trail=365, span=500)
    actual = np.stack([log_close[origins + h] - log_close[origins] for h in range(1, 8)], axis=1)
    coverage = ((band[..., 0] <= actual) & (actual <= band[..., 2])).mean(axis=0)
    assert np.all((coverage > 0.74) & (coverage < 0.86)), coverage
    assert np.all(band[..., 1] == 0)


def test_baselines_never_see_past_their_origin() -> None:
    """It gives the same bands at an origin whatever the closes after it are."""
    log_close, _ = garch_series(1600, seed=5)
    origins = np.arange(1200, 1260)
    changed = log_close.copy()
    changed[origins[-1] + 1 :] += np.linspace(0, 3, len(changed) - origins[-1] - 1)
    for band in (
        lambda x: b.empirical_band(x, origins, 7, 365),
        lambda x: b.garch_walk_forward(x, origins, 7, trail=365, span=500),
    ):
        np.testing.assert_array_equal(band(log_close), band(changed))


def test_too_short_a_history_is_refused() -> None:
    """It names the rows the GARCH band needs before its fit origin."""
    log_close, _ = garch_series(700)
    with pytest.raises(ValidationError, match="rows before its fit origin"):
        b.fit_garch_band(log_close, 600, 7, trail=365, span=500)
