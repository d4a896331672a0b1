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
    share, low, high = m.directional_accuracy(origin, actual, origin, horizon=1)
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


def test_interval_score_on_a_hand_computed_case() -> None:
    """It adds the width and 2/alpha times each miss (Winkler), averaged over forecasts."""
    actual = np.array([5.0, 1.0, 12.0])
    low, high = np.array([4.0, 2.0, 8.0]), np.array([6.0, 4.0, 10.0])
    # widths 2, 2, 2; misses 0, 1 below, 2 above; alpha 0.2 -> penalty 10 per unit
    assert m.winkler(actual, low, high) == pytest.approx((2 + (2 + 10) + (2 + 20)) / 3)
    assert m.winkler(actual, low, high, alpha=0.5) == pytest.approx((2 + 6 + 10) / 3)


def test_pinball_loss_on_a_hand_computed_case() -> None:
    """It averages max(q e, (q - 1) e) over forecasts and then over the quantile levels."""
    actual = np.array([10.0, 10.0])
    quantiles = {
        0.1: np.array([8.0, 11.0]),
        0.5: np.array([10.0, 12.0]),
        0.9: np.array([9.0, 13.0]),
    }
    # q=0.1: e=2 -> 0.2, e=-1 -> 0.9; q=0.5: 0, e=-2 -> 1.0; q=0.9: e=1 -> 0.9, e=-3 -> 0.3
    expected = np.mean([(0.2 + 0.9) / 2, (0.0 + 1.0) / 2, (0.9 + 0.3) / 2])
    assert m.pinball(actual, quantiles) == pytest.approx(expected)


def test_overlapping_outcomes_count_as_fewer_observations() -> None:
    """It gives about n for independent hits and far fewer when h-step windows overlap."""
    rng = np.random.default_rng(4)
    independent = rng.random(730) < 0.5
    assert m.effective_size(independent, 1) == 730
    assert 550 < m.effective_size(independent, 7) <= 730
    moves = rng.normal(size=760)
    overlapping = np.convolve(moves, np.ones(30), mode="valid")[:730] > 0  # 30-day sums
    assert m.effective_size(overlapping, 30) < 150
    narrow = m.proportion_interval(independent, 1)
    wide = m.proportion_interval(overlapping, 30)
    assert wide[1] - wide[0] > 2 * (narrow[1] - narrow[0])


def test_one_sided_diebold_mariano_tells_which_is_better() -> None:
    """It gives a small p only when the first forecast's errors are the smaller ones."""
    rng = np.random.default_rng(8)
    noise = rng.normal(size=(2, 365))
    better, worse = 0.7 * noise[0], noise[1]
    assert m.diebold_mariano(better, worse, 1, alternative="less") < 0.001
    assert m.diebold_mariano(worse, better, 1, alternative="less") > 0.999
    assert m.diebold_mariano(worse, worse, 1, alternative="less") == 0.5
    with pytest.raises(ValueError, match="alternative"):
        m.diebold_mariano(worse, better, 1, alternative="greater")


def test_mase_is_scaled_by_the_fitting_datas_naive_error() -> None:
    """It scales by the mean absolute one-candle change of the closes it is given."""
    assert m.naive_scale(np.array([100.0, 102.0, 99.0, 100.0])) == pytest.approx(2.0)
    assert m.mase(np.array([10.0]), np.array([14.0]), m.naive_scale(np.array([1.0, 3.0]))) == 2.0
