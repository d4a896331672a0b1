"""Tests for the walk-forward backtest and its scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_pipeline.groups import FEATURE_COLUMNS
from training_pipeline.backtest import score, selection_score, walk_forward
from training_pipeline.data import feature_view_from_frame
from training_pipeline.dataset import TrainingSet
from training_pipeline.register import persistence_bundle


def test_rows_line_up_with_the_actual_closes(data: TrainingSet, make_bundle) -> None:
    """It pairs each origin and horizon with the close h candles later and persistence."""
    bundle, baseline = make_bundle(data), persistence_bundle(data)
    origins = data.splits.test
    frame = walk_forward(bundle, baseline, data.view, origins)
    close = data.view.close
    assert len(frame) == len(origins) * data.horizon
    row = frame[(frame["horizon"] == 3)].iloc[10]
    assert row["actual"] == close[origins[10] + 3]
    assert row["persistence"] == row["origin_close"] == close[origins[10]]
    assert (frame["low"] <= frame["median"]).all() and (frame["median"] <= frame["high"]).all()


def test_forecasts_never_see_past_their_origin(
    synthetic: pd.DataFrame, data: TrainingSet, make_bundle
) -> None:
    """It forecasts the same at every origin when all later rows are replaced."""
    bundle, baseline = make_bundle(data), persistence_bundle(data)
    origins = data.splits.test[:40]
    changed = synthetic.copy()
    later = changed.index > origins[-1]
    changed.loc[later, list(FEATURE_COLUMNS)] = 9.0
    changed.loc[later, "close"] *= 3.0
    other = feature_view_from_frame(changed, symbol="SYNTHUSDT", interval="1d")
    forecast_columns = ["low", "median", "high", "persistence", "drift"]
    before = walk_forward(bundle, baseline, data.view, origins)[forecast_columns]
    after = walk_forward(bundle, baseline, other, origins)[forecast_columns]
    pd.testing.assert_frame_equal(before, after)


def test_scores_put_the_model_next_to_persistence(data: TrainingSet) -> None:
    """It reports every registry key per horizon; persistence scores ratio 1 against itself."""
    baseline = persistence_bundle(data)
    frame = walk_forward(baseline, baseline, data.view, data.splits.test)
    metrics = score(frame, horizons=(1, 3, 7))
    for h in (1, 3, 7):
        for key in ("mae", "mae_ratio", "coverage80", "width80", "da", "dm_p", "rmse", "mase"):
            assert np.isfinite(metrics[f"{key}_h{h}"]), key
        assert metrics[f"mae_ratio_h{h}"] == 1.0
        assert metrics[f"da_h{h}"] == metrics[f"up_share_h{h}"]
    assert selection_score(frame) == 1.0
    assert metrics["origins"] == len(data.splits.test)
