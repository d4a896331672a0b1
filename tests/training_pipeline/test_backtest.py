"""Tests for the walk-forward backtest and its scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_pipeline.groups import FEATURE_COLUMNS
from training_pipeline.backtest import baseline_forecasts, score, walk_forward
from training_pipeline.feature_view import feature_view_from_frame
from training_pipeline.training_set import TrainingSet


def forecast_frame(bundle, view, origins) -> pd.DataFrame:
    base = baseline_forecasts(view, origins, bundle.horizon, trail=100, span=200)
    return walk_forward(view, origins, bundle.forecast_rows(view.frame, origins), base)


def test_rows_line_up_with_the_actual_closes(data: TrainingSet, make_bundle) -> None:
    """It pairs each origin and horizon with the close h candles later and both baselines."""
    origins = data.splits.test
    frame = forecast_frame(make_bundle(data), data.view, origins)
    close = data.view.close
    assert len(frame) == len(origins) * data.horizon
    row = frame[(frame["horizon"] == 3)].iloc[10]
    assert row["actual"] == close[origins[10] + 3]
    assert row["persistence"] == row["origin_close"] == close[origins[10]]
    assert (frame["low"] <= frame["median"]).all() and (frame["median"] <= frame["high"]).all()
    for band in ("persistence", "garch"):
        assert (frame[f"{band}_low"] < frame["persistence"]).all()
        assert (frame["persistence"] < frame[f"{band}_high"]).all()


def test_forecasts_never_see_past_their_origin(
    synthetic: pd.DataFrame, data: TrainingSet, make_bundle
) -> None:
    """It forecasts the same at every origin when all later rows are replaced."""
    bundle = make_bundle(data)
    origins = data.splits.test[:40]
    changed = synthetic.copy()
    later = changed.index > origins[-1]
    changed.loc[later, list(FEATURE_COLUMNS)] = 9.0
    changed.loc[later, "close"] *= 3.0
    other = feature_view_from_frame(changed, symbol="SYNTHUSDT", interval="1d")
    columns = ["low", "median", "high", "persistence_low", "garch_high", "drift"]
    before = forecast_frame(bundle, data.view, origins)[columns]
    after = forecast_frame(bundle, other, origins)[columns]
    pd.testing.assert_frame_equal(before, after)


def test_scores_put_the_model_next_to_both_baselines(data: TrainingSet) -> None:
    """It reports every registry key per horizon; the empirical band scores 1 against itself."""
    origins = data.splits.test
    base = baseline_forecasts(data.view, origins, data.horizon, trail=100, span=200)
    frame = walk_forward(data.view, origins, base.empirical, base)
    metrics = score(frame, horizons=(1, 3, 7), mase_scale=2.0)
    keys = ("mae", "mae_ratio", "coverage80", "width80", "da", "dm_p", "rmse", "mase")
    keys += ("winkler", "winkler_ratio", "pinball", "garch_winkler_ratio", "persistence_pinball")
    for h in (1, 3, 7):
        for key in keys:
            assert np.isfinite(metrics[f"{key}_h{h}"]), key
        assert metrics[f"mae_ratio_h{h}"] == 1.0 and metrics[f"winkler_ratio_h{h}"] == 1.0
        assert metrics[f"da_h{h}"] == metrics[f"up_share_h{h}"]
        assert metrics[f"coverage80_low_h{h}"] < metrics[f"coverage80_h{h}"]
        assert metrics[f"coverage80_h{h}"] < metrics[f"coverage80_high_h{h}"]
        assert metrics[f"mase_h{h}"] == metrics[f"mae_h{h}"] / 2.0
    # overlapping 7-candle outcomes make the coverage interval wider than the 1-candle one
    width = {h: metrics[f"coverage80_high_h{h}"] - metrics[f"coverage80_low_h{h}"] for h in (1, 7)}
    assert width[7] > width[1]
    assert metrics["origins"] == len(origins)
