"""Tests for the feature view: labels, time-ordered splits and scalers fitted on train only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from candlecast.errors import FeatureGroupNotFound, ValidationError
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from training_pipeline.feature_view import (
    feature_view_from_frame,
    future_log_returns,
    load_feature_view,
)
from training_pipeline.periods import make_splits
from training_pipeline.training_set import prepare


def test_labels_are_future_log_returns() -> None:
    """It labels row t with log(close[t+h] / close[t]) and leaves unknown futures as NaN."""
    close = np.array([100.0, 110.0, 99.0, 120.0, 121.0])
    labels = future_log_returns(close, 3)
    assert labels[0, 0] == pytest.approx(np.log(110 / 100))
    assert labels[1, 2] == pytest.approx(np.log(121 / 110))
    assert np.isnan(labels[2, 2]) and np.isnan(labels[4, 0])
    assert not np.isnan(labels[:2]).any()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(300, 2000),
    horizon=st.integers(7, 40),
    val_size=st.integers(10, 200),
    selection_size=st.integers(10, 200),
    test_size=st.integers(10, 200),
)
def test_periods_never_leak(
    rows: int, horizon: int, val_size: int, selection_size: int, test_size: int
) -> None:
    """It keeps a gap of `horizon` candles: no label of one period reaches a candle of the next."""
    sizes = {"val_size": val_size, "selection_size": selection_size, "test_size": test_size}
    try:
        splits = make_splits(rows, horizon=horizon, **sizes)
    except ValidationError:
        return  # too few rows for these sizes: refusing is the right answer
    periods = list(splits.periods().values())
    assert [len(p) for p in periods[1:]] == [val_size, selection_size, test_size]
    for earlier, later in zip(periods, periods[1:], strict=False):
        assert earlier[-1] + horizon < later[0]
    assert splits.test[-1] + horizon <= rows - 1  # every test label is known
    for part in periods:
        assert (np.diff(part) == 1).all()


def test_training_labels_do_not_depend_on_later_candles(btc_features: pd.DataFrame) -> None:
    """It gives training origins the same labels when every candle from validation on is cut off."""
    view = feature_view_from_frame(btc_features, symbol="BTCUSDT", interval="1d")
    splits = make_splits(
        len(view.frame), horizon=30, val_size=365, selection_size=365, test_size=365
    )
    full = future_log_returns(view.close, 30)[splits.train]
    cut = future_log_returns(view.close[: splits.val[0]], 30)[splits.train]
    np.testing.assert_array_equal(full, cut)
    val_full = future_log_returns(view.close, 30)[splits.val]
    val_cut = future_log_returns(view.close[: splits.test[0]], 30)[splits.val]
    np.testing.assert_array_equal(val_full, val_cut)


def test_scalers_are_fitted_on_the_training_split_only(
    btc_features: pd.DataFrame, tiny_config
) -> None:
    """It fits the same scalers when every row after the training split is replaced by garbage."""
    view = feature_view_from_frame(btc_features, symbol="BTCUSDT", interval="1d")
    data = prepare(view, tiny_config)
    last_label_row = data.splits.train[-1] + tiny_config.horizon
    garbage = btc_features.copy()
    later = garbage.index > last_label_row
    garbage.loc[later, list(FEATURE_COLUMNS)] = 1e6
    garbage.loc[later, "close"] = garbage.loc[later, "close"] * 50.0
    other = prepare(feature_view_from_frame(garbage, symbol="BTCUSDT", interval="1d"), tiny_config)
    assert other.scaler == data.scaler
    assert other.target_scale == data.target_scale
    train_rows = btc_features[list(FEATURE_COLUMNS)].to_numpy()[: data.splits.train[-1] + 1]
    np.testing.assert_allclose(data.scaler.mean, train_rows.mean(axis=0))


def test_too_little_history_is_refused() -> None:
    """It refuses to split a series too short for the validation, selection and test periods."""
    with pytest.raises(ValidationError, match="too few"):
        make_splits(1200, horizon=30, val_size=365, selection_size=365, test_size=365)


def test_feature_view_records_the_data_version(feature_store, synthetic: pd.DataFrame) -> None:
    """It reads one series from the store and records group, table version and time range."""
    feature_store.upsert(FEATURES, synthetic)
    view = load_feature_view(feature_store, "SYNTHUSDT", "1d")
    version = view.data_version()
    assert len(view.frame) == len(synthetic)
    assert version["feature_group"] == "features" and version["feature_group_version"] == 1
    assert version["table_version"] == feature_store.table_version(FEATURES)
    assert version["first_open_time"].startswith("2020-01-01")
    assert version["last_open_time"] == synthetic["open_time"].iloc[-1].isoformat()


def test_a_missing_series_says_how_to_get_it(feature_store) -> None:
    """It raises FeatureGroupNotFound naming the backfill command when the series has no rows."""
    with pytest.raises(FeatureGroupNotFound, match="candlecast backfill"):
        load_feature_view(feature_store, "ETHUSDT", "1d")


def test_features_with_gaps_are_rejected(synthetic: pd.DataFrame) -> None:
    """It rejects feature rows holding NaN or lacking an input column."""
    broken = synthetic.copy()
    broken.loc[5, "rsi_14"] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        feature_view_from_frame(broken, symbol="SYNTHUSDT", interval="1d")
    with pytest.raises(ValidationError, match="macd"):
        feature_view_from_frame(synthetic.drop(columns="macd"), symbol="SYNTHUSDT", interval="1d")


def test_a_refit_calibrates_out_of_sample(data) -> None:
    """It ends the calibrating fit a horizon before its window and the served fit at the cutoff."""
    from training_pipeline.scaler import Scaler
    from training_pipeline.training_set import refit_set

    horizon, cutoff = data.horizon, int(data.splits.test[40])
    early, full = refit_set(data, cutoff, calibration=60)
    assert len(early.val) == 60 and early.val[-1] == cutoff - horizon
    assert early.fit[-1] + horizon < early.val[0]
    assert full.fit[-1] == cutoff - horizon and len(full.val) == 0
    rows = data.view.frame[list(data.view.feature_columns)].to_numpy()
    assert full.scaler == Scaler.fit(rows[: cutoff - horizon + 1])
