"""The KPI row and the freshness rule scale with the series' interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from candlecast.intervals import interval_words
from inference_app.freshness import freshness_of, stale_after
from inference_app.market import candles_for_summary, summarize


def one_minute_candles(data_dir: Path) -> pd.DataFrame:
    """The real BTCUSDT 1m candles of August 2025, in the `candles` schema's names and types."""
    frame = pd.read_csv(data_dir / "BTCUSDT_1m_2025-08.csv")
    frame["open_time"] = pd.to_datetime(frame["open_time"], utc=True)
    return frame


def test_one_minute_kpis_span_clock_time(data_dir: Path) -> None:
    """On 1m candles the 24 h change looks 1,440 candles back, the 7 d change 10,080, and the
    range is the last 24 h, not the last 60 candles."""
    candles = one_minute_candles(data_dir).head(candles_for_summary("1m"))
    assert len(candles) == 10_081
    summary = summarize(candles, "1m")
    close = candles["close"]
    assert summary.change_24h == pytest.approx(close.iloc[-1] / close.iloc[-1441] - 1)
    assert summary.change_7d == pytest.approx(close.iloc[-1] / close.iloc[0] - 1)
    assert summary.range_label == "24 h"
    assert summary.range_high == candles["high"].tail(1440).max()
    assert summary.range_low == candles["low"].tail(1440).min()
    mean = candles["volume"].tail(1440).mean()
    assert summary.volume_vs_mean == pytest.approx(candles["volume"].iloc[-1] / mean - 1)


def test_short_history_has_no_week_change(data_dir: Path) -> None:
    """It says n/a (None) for a change whose candle is not in the frame."""
    summary = summarize(one_minute_candles(data_dir).head(2000), "1m")
    assert summary.change_24h is not None and summary.change_7d is None


@pytest.mark.parametrize(
    ("interval", "needed", "words"),
    [("1m", 10_081, "1-minute"), ("4h", 43, "4-hour"), ("1d", 31, "1-day")],
)
def test_candles_needed_per_interval(interval: str, needed: int, words: str) -> None:
    assert candles_for_summary(interval) == needed
    assert interval_words(interval) == words


@pytest.mark.parametrize(
    ("interval", "after"),
    [
        ("1m", timedelta(minutes=6)),
        ("5m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1, minutes=15)),
        ("4h", timedelta(hours=5)),
        ("1d", timedelta(hours=30)),
    ],
)
def test_staleness_scales_with_the_interval(interval: str, after: timedelta) -> None:
    """A series is stale one candle plus a quarter interval, or 5 minutes' publication grace,
    after its last candle closed."""
    assert stale_after(interval) == after
    opened = datetime(2025, 8, 1, tzinfo=UTC)
    closed = opened + timedelta(minutes=1)
    fresh = freshness_of(opened, symbol="BTCUSDT", interval="1m", now=closed + timedelta(minutes=5))
    assert not fresh.stale  # 15 s after the next candle closed is not stale on 1m
    late = freshness_of(opened, symbol="BTCUSDT", interval="1m", now=closed + timedelta(minutes=7))
    assert late.stale and "1m series" in late.warning()
