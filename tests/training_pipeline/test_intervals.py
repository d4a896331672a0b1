"""Tests for the 80% bands: calibrated on validation, following the volatility at each origin."""

from __future__ import annotations

import numpy as np

from training_pipeline.backtest import walk_forward
from training_pipeline.dataset import TrainingSet
from training_pipeline.fit import calibrate
from training_pipeline.intervals import VOLATILITY_SOURCES, apply_band, choose_band, fit_band
from training_pipeline.register import persistence_bundle


def test_fixed_validation_band_over_covers_a_calmer_test_period(regimes: TrainingSet) -> None:
    """It shows the premise: a fixed band fitted on validation covers far more than 80% on test."""
    val, test = regimes.splits.val, regimes.splits.test
    zeros = np.zeros((len(val), regimes.horizon, 3))
    band = fit_band("none", zeros, regimes.labels[val])
    banded = apply_band(np.zeros((len(test), regimes.horizon, 3)), band)
    actual = regimes.labels[test]
    coverage = ((banded[..., 0] <= actual) & (actual <= banded[..., 2])).mean(axis=0)
    assert np.all(coverage > 0.9)


def test_persistence_band_follows_the_volatility_into_the_test_period(
    regimes: TrainingSet,
) -> None:
    """It keeps persistence's test coverage near 80% at every horizon after volatility drops."""
    baseline = persistence_bundle(regimes)
    assert baseline.band["scale_by"] in VOLATILITY_SOURCES
    frame = walk_forward(baseline, baseline, regimes.view, regimes.splits.test)
    inside = (frame["persistence_low"] <= frame["actual"]) & (
        frame["actual"] <= frame["persistence_high"]
    )
    coverage = inside.groupby(frame["horizon"]).mean()
    assert len(coverage) == regimes.horizon
    assert coverage.between(0.65, 0.92).all() and abs(coverage.mean() - 0.8) <= 0.08, coverage


def test_network_band_follows_the_volatility_into_the_test_period(
    regimes: TrainingSet, make_bundle
) -> None:
    """It keeps a calibrated network's test coverage near 80% at every horizon."""
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
