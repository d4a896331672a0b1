"""Tests for the predicted candles: high/low labels, the empirical quantiles and their scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_series import synthetic_features, with_extremes

from training_pipeline.candle_range import empirical_range, range_scores, with_candles
from training_pipeline.feature_view import feature_view_from_frame
from training_pipeline.windows import range_labels


def hand_made() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "close": [100.0, 110.0, 90.0, 120.0],
            "high": [105.0, 115.0, 130.0, 125.0],
            "low": [95.0, 100.0, 80.0, 85.0],
        }
    )


def test_the_h_step_high_low_labels_use_candle_t_plus_h_only() -> None:
    """It labels log(high[t+h] / close[t]) and log(low[t+h] / close[t]), NaN past the end."""
    labels = range_labels(hand_made(), 2)
    assert labels.shape == (4, 2, 2)
    assert labels[0, 0, 0] == pytest.approx(np.log(115 / 100))
    assert labels[0, 0, 1] == pytest.approx(np.log(100 / 100))
    # h = 2 is candle 2's high (130), not the highest of candles 1..2, and its low (80)
    assert labels[0, 1, 0] == pytest.approx(np.log(130 / 100))
    assert labels[1, 1, 1] == pytest.approx(np.log(85 / 110))
    assert np.isnan(labels[3]).all() and np.isnan(labels[2, 1]).all()


def test_a_label_does_not_change_when_any_other_candle_does() -> None:
    """It reads candle t+h and close t alone: changing any other row leaves the label."""
    frame = hand_made()
    before = range_labels(frame, 2)[0, 1]
    changed = frame.copy()
    changed.loc[[1, 3], ["high", "low", "close"]] *= 1.5
    assert np.array_equal(range_labels(changed, 2)[0, 1], before)


def test_the_empirical_quantiles_use_only_outcomes_closed_at_the_origin() -> None:
    """It gives the same quantiles at an origin whatever the candles after it are."""
    frame = with_extremes(synthetic_features(300))
    origins = np.array([150, 200])
    before = empirical_range(frame, origins, 7, trail=100)
    later = frame.copy()
    later.loc[201:, ["close", "high", "low"]] *= 3.0
    assert np.array_equal(empirical_range(later, origins, 7, trail=100), before)
    assert before.shape == (2, 7, 2, 3)
    assert (np.diff(before, axis=-1) >= 0).all()  # 10% <= 50% <= 90%
    assert (before[:, :, 0, 1] > before[:, :, 1, 1]).all()  # the high's median above the low's


def test_the_scores_compare_against_the_last_candles_range() -> None:
    """It scores the predicted high/low medians and the persistence range (high[t], low[t])."""
    frame = hand_made()
    forecast = np.zeros((2, 1, 2, 3))
    forecast[:, 0, 0, :] = np.log(1.1)  # high = close * 1.1
    forecast[:, 0, 1, :] = np.log(0.9)  # low = close * 0.9
    scores = range_scores(frame, np.array([0, 1]), forecast, (1,))
    # actual highs 115, 130 vs predicted 110, 121; persistence range says 105, 115
    assert scores["high_mae_h1"] == pytest.approx((5 + 9) / 2)
    assert scores["high_range_mae_h1"] == pytest.approx((10 + 15) / 2)
    assert scores["high_mae_ratio_h1"] == pytest.approx(7 / 12.5)
    # actual lows 100, 80 vs predicted 90, 99; persistence range says 95, 100
    assert scores["low_mae_h1"] == pytest.approx((10 + 19) / 2)
    assert scores["low_range_mae_h1"] == pytest.approx((5 + 20) / 2)


def test_a_store_without_candles_leaves_the_view_without_high_low(feature_store) -> None:
    """It joins nothing (and forecasts no high/low) when the store holds no candles."""
    view = feature_view_from_frame(synthetic_features(), symbol="SYNTHUSDT", interval="1d")
    assert with_candles(view, feature_store) is view
