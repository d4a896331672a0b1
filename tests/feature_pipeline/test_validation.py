"""Candle and feature data rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from candlecast.errors import ValidationError
from feature_pipeline.csv_source import CsvSource
from feature_pipeline.features import engineer
from feature_pipeline.klines import conform
from feature_pipeline.validation import validate_candles, validate_features

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def candles(data_dir: Path) -> pd.DataFrame:
    return CsvSource(data_dir, clock=lambda: NOW).fetch("ETHUSDT", "1d")[0].iloc[:200]


def test_real_candles_pass(candles: pd.DataFrame) -> None:
    """It accepts real closed candles and returns them unchanged."""
    assert validate_candles(candles) is candles


def broken(candles: pd.DataFrame, row: int, **values: object) -> pd.DataFrame:
    out = candles.copy()
    for column, value in values.items():
        out.loc[row, column] = value
    return out


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"high": 1.0}, "high >= max(open, close)"),
        ({"low": 1e9}, "low <= min(open, close)"),
        ({"open": -1.0}, "open greater_than(0)"),
        ({"volume": -5.0}, "volume greater_than_or_equal_to(0)"),
        ({"open_time": pd.Timestamp("2018-01-01 00:30", tz="UTC")}, "multiple of the interval"),
        ({"close_time": pd.Timestamp("2030-01-01", tz="UTC")}, "close_time < open_time + interval"),
        ({"interval": "2d"}, "interval isin"),
        ({"symbol": "btc"}, "symbol str_matches"),
    ],
)
def test_each_rule_is_enforced(candles: pd.DataFrame, change: dict, rule: str) -> None:
    """It raises ValidationError naming the broken rule and saying nothing was written."""
    with pytest.raises(ValidationError, match="nothing was written") as error:
        validate_candles(broken(candles, 10, **change))
    assert rule in str(error.value)


def test_duplicates_order_and_columns(candles: pd.DataFrame) -> None:
    """It rejects duplicate keys, time going backwards and missing columns."""
    with pytest.raises(ValidationError, match="multiple_fields_uniqueness"):
        validate_candles(pd.concat([candles, candles.iloc[:1]], ignore_index=True))
    with pytest.raises(ValidationError, match="increases"):
        validate_candles(candles.iloc[::-1].reset_index(drop=True))
    with pytest.raises(ValidationError, match="trades"):
        validate_candles(candles.drop(columns="trades"))


@settings(max_examples=30, deadline=None)
@given(
    opens=st.lists(st.floats(0.01, 1e6), min_size=1, max_size=20),
    spread=st.floats(0, 0.5),
    volume=st.floats(0, 1e9),
)
def test_consistent_ohlc_always_passes(opens: list[float], spread: float, volume: float) -> None:
    """It accepts any candles whose high and low bound open and close."""
    o = np.array(opens)
    c = o * (1 + spread / 2)
    times = pd.date_range("2024-01-01", periods=len(o), freq="4h", tz="UTC")
    frame = conform(
        pd.DataFrame(
            {
                "symbol": "BTCUSDT",
                "interval": "4h",
                "open_time": times,
                "close_time": times + pd.Timedelta(hours=4) - pd.Timedelta(milliseconds=1),
                "open": o,
                "high": np.maximum(o, c) * (1 + spread),
                "low": np.minimum(o, c) / (1 + spread),
                "close": c,
                "volume": volume,
                "quote_volume": None,
                "trades": None,
            }
        )
    )
    validate_candles(frame)


def test_features_rules(candles: pd.DataFrame) -> None:
    """It accepts engineered features and rejects non-finite values or extra columns."""
    feats = engineer(candles)
    assert validate_features(feats) is feats
    bad = feats.copy()
    bad.loc[3, "rsi_14"] = np.inf
    with pytest.raises(ValidationError, match="rsi_14"):
        validate_features(bad)
    with pytest.raises(ValidationError):
        validate_features(feats.assign(extra=1.0))
