"""The KPI row: last close with its candle's high and low, 24 h and 7 d change, the range (30 d
for daily candles, 24 h for shorter ones) and volume, from candles of any interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from candlecast.intervals import candles_in, interval_step

DAY, WEEK, MONTH = timedelta(days=1), timedelta(days=7), timedelta(days=30)


def range_span(interval: str) -> timedelta:
    """The clock span of the high / low KPI: 30 d for daily candles, the last 24 h otherwise."""
    return MONTH if interval_step(interval) >= DAY else DAY


def candles_for_summary(interval: str) -> int:
    """How many candles the KPIs need: the range span and the 7 d change's candle a week back."""
    return candles_in(max(WEEK, range_span(interval)), interval) + 1


@dataclass(frozen=True)
class MarketSummary:
    """Headline numbers of a series at its last closed candle (None where history is short)."""

    last_close: float
    last_high: float  # of the last closed candle
    last_low: float
    change_24h: float | None
    change_7d: float | None
    range_label: str  # "30 d" or "24 h"
    range_high: float  # over the candles that opened in the last range span
    range_low: float
    volume: float  # of the last candle, in the base asset
    volume_vs_mean: float | None  # vs the mean candle over the range span


def summarize(candles: pd.DataFrame, interval: str) -> MarketSummary:
    """The KPIs of a series from its latest candles (oldest first, `candles` schema)."""
    frame = candles.sort_values("open_time").reset_index(drop=True)
    last = frame.iloc[-1]
    last_time = pd.Timestamp(last["open_time"])
    span = range_span(interval)
    window = frame[frame["open_time"] > last_time - span]
    mean_volume = float(window["volume"].mean())
    volume = float(last["volume"])
    return MarketSummary(
        last_close=float(last["close"]),
        last_high=float(last["high"]),
        last_low=float(last["low"]),
        change_24h=_change(frame, last_time - DAY),
        change_7d=_change(frame, last_time - WEEK),
        range_label="30 d" if span == MONTH else "24 h",
        range_high=float(window["high"].max()),
        range_low=float(window["low"].min()),
        volume=volume,
        volume_vs_mean=volume / mean_volume - 1 if mean_volume > 0 else None,
    )


def _change(frame: pd.DataFrame, then: pd.Timestamp) -> float | None:
    """Relative change of the last close vs the close of the candle that opened at `then`."""
    earlier = frame[frame["open_time"] == then]
    if earlier.empty:
        return None
    return float(frame["close"].iloc[-1]) / float(earlier["close"].iloc[0]) - 1


def format_price(value: float) -> str:
    """'93,859.71' for large prices, '0.5432' for small ones."""
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:,.4f}"


def format_change(value: float | None) -> str:
    """'+1.23%', '-0.40%' or 'n/a'."""
    return "n/a" if value is None else f"{value:+.2%}"


def format_volume(value: float) -> str:
    """'20.7 K', '1.3 M'."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.1f}"
