"""The KPI row: last close with its candle's high and low, 24 h and 7 d change, 30 d high / low
and volume, from candles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

CANDLES_FOR_SUMMARY = 60  # enough daily candles for the 30 d window plus the 7 d change


@dataclass(frozen=True)
class MarketSummary:
    """Headline numbers of a series at its last closed candle (None where history is short)."""

    last_close: float
    last_high: float  # of the last closed candle
    last_low: float
    change_24h: float | None
    change_7d: float | None
    high_30d: float
    low_30d: float
    volume: float  # of the last candle, in the base asset
    volume_vs_30d: float | None  # vs the mean candle of the last 30 days


def summarize(candles: pd.DataFrame) -> MarketSummary:
    """The KPIs of a series from its latest candles (oldest first, `candles` schema)."""
    frame = candles.sort_values("open_time").reset_index(drop=True)
    last = frame.iloc[-1]
    last_time = pd.Timestamp(last["open_time"])
    month = frame[frame["open_time"] > last_time - timedelta(days=30)]
    mean_volume = float(month["volume"].mean())
    volume = float(last["volume"])
    return MarketSummary(
        last_close=float(last["close"]),
        last_high=float(last["high"]),
        last_low=float(last["low"]),
        change_24h=_change(frame, last_time - timedelta(days=1)),
        change_7d=_change(frame, last_time - timedelta(days=7)),
        high_30d=float(month["high"].max()),
        low_30d=float(month["low"].min()),
        volume=volume,
        volume_vs_30d=volume / mean_volume - 1 if mean_volume > 0 else None,
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
