"""Tests for the accuracy measures and the Diebold-Mariano test."""

from __future__ import annotations

import numpy as np
import pytest

from training_pipeline import metrics as m


def test_point_errors_on_a_known_case() -> None:
    """It computes MAE, RMSE, MAPE and MASE by their textbook formulas."""
    actual, forecast = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert m.mae(actual, forecast) == 15.0
    assert m.rmse(actual, forecast) == pytest.approx(np.sqrt((100 + 400) / 2))
    assert m.mape(actual, forecast) == pytest.approx(10.0)
    assert m.mase(actual, forecast, 5.0) == 3.0


def test_persistence_direction_scores_the_share_of_up_moves() -> None:
    """It counts a no-change forecast as 'up', so persistence scores the up-move share."""
    rng = np.random.default_rng(1)
    origin = np.full(200, 100.0)
    actual = origin * np.exp(rng.normal(0, 0.02, 200))
    share, low, high = m.directional_accuracy(origin, actual, origin)
    assert share == pytest.approx(np.mean(actual > origin))
    assert 0.0 <= low < share < high <= 1.0


def test_wilson_interval_brackets_the_proportion() -> None:
    """It gives a 95% interval that narrows with more observations."""
    small, large = m.wilson_interval(6, 10), m.wilson_interval(600, 1000)
    assert small[0] < 0.6 < small[1] and large[0] < 0.6 < large[1]
    assert large[1] - large[0] < small[1] - small[0]


def test_diebold_mariano_separates_better_from_equal_forecasts() -> None:
    """It gives a tiny p-value for clearly smaller errors and a large one for equal accuracy."""
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(2, 365))
    assert m.diebold_mariano(0.5 * noise[0], noise[1], horizon=1) < 0.001
    assert m.diebold_mariano(noise[0], noise[1], horizon=1) > 0.05
    assert m.diebold_mariano(noise[0], noise[0], horizon=7) == 1.0


def test_coverage_and_width() -> None:
    """It counts actual values inside the band (edges included) and averages the width."""
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    low, high = np.array([0.0, 2.0, 3.5, 0.0]), np.array([2.0, 3.0, 4.0, 3.0])
    assert m.coverage(actual, low, high) == 0.5
    assert m.mean_width(low, high) == pytest.approx((2 + 1 + 0.5 + 3) / 4)
