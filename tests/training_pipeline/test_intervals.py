"""Tests for the 80% bands: calibrated on validation, following the volatility at each origin."""

from __future__ import annotations

import numpy as np

from training_pipeline import baselines
from training_pipeline.intervals import VOLATILITY_SOURCES, apply_band, choose_band, fit_band
from training_pipeline.training_set import TrainingSet


def test_fixed_validation_band_over_covers_a_calmer_test_period(regimes: TrainingSet) -> None:
    """It shows the premise: a fixed band fitted on validation covers far more than 80% on test."""
    val, test = regimes.splits.val, regimes.splits.test
    zeros = np.zeros((len(val), regimes.horizon, 3))
    band = fit_band("none", zeros, regimes.labels[val])
    banded = apply_band(np.zeros((len(test), regimes.horizon, 3)), band)
    actual = regimes.labels[test]
    coverage = ((banded[..., 0] <= actual) & (actual <= banded[..., 2])).mean(axis=0)
    assert np.all(coverage > 0.9)


def test_garch_band_follows_the_volatility_into_the_test_period(regimes: TrainingSet) -> None:
    """It keeps the GARCH baseline's test coverage near 80% at every horizon as volatility drops,
    closer to it than the empirical band of the last 100 moves, which lags behind."""
    test = regimes.splits.test
    log_close = np.log(regimes.view.close)
    actual = regimes.labels[test]

    def coverage(band: np.ndarray) -> np.ndarray:
        return ((band[..., 0] <= actual) & (actual <= band[..., 2])).mean(axis=0)

    garch = coverage(baselines.garch_walk_forward(log_close, test, 7, trail=100, span=200))
    empirical = coverage(baselines.empirical_band(log_close, test, 7, trail=100))
    assert np.all((garch >= 0.65) & (garch <= 0.92)) and abs(garch.mean() - 0.8) <= 0.08, garch
    assert np.abs(garch - 0.8).mean() < np.abs(empirical - 0.8).mean()


def test_network_band_follows_the_volatility_into_the_test_period(
    regimes: TrainingSet, make_bundle
) -> None:
    """It keeps a calibrated network's test coverage near 80% at every horizon."""
    from training_pipeline.fit import calibrate

    bundle = calibrate(make_bundle(regimes, seed=3), regimes)
    assert bundle.band["scale_by"] in VOLATILITY_SOURCES
    test = regimes.splits.test
    forecast = bundle.forecast(bundle.inputs(regimes.view.frame, test))
    actual = regimes.labels[test]
    coverage = ((forecast[..., 0] <= actual) & (actual <= forecast[..., 2])).mean(axis=0)
    assert np.all((coverage >= 0.65) & (coverage <= 0.92)), coverage
    assert abs(coverage.mean() - 0.8) <= 0.08, coverage


def test_the_band_scale_is_chosen_on_validation_halves() -> None:
    """It prefers the volatility that explains the residuals and skips non-positive sources."""
    rng = np.random.default_rng(0)
    n, horizon = 400, 3
    vol = np.where(np.arange(n) < 300, 0.04, 0.01) * rng.uniform(0.8, 1.2, n)
    actual = rng.normal(size=(n, horizon)) * vol[:, None] * np.sqrt(np.arange(1, horizon + 1))
    forecast = np.zeros((n, horizon, 3))
    volatility = {"vol_30": vol, "vol_7": rng.normal(size=n)}
    band, errors = choose_band(("vol_30", "vol_7", "none"), forecast, actual, volatility)
    assert band["scale_by"] == "vol_30" and set(errors) == {"vol_30", "none"}
    assert errors["vol_30"] < errors["none"]
    assert len(band["width"]) == horizon
