"""Interval maths: the candle intervals Binance serves, their lengths and epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from candlecast.errors import SettingsError

if TYPE_CHECKING:  # pandas is imported by whoever passes a Series; the CLI's --help skips it
    import pandas as pd

INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")
_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def check_interval(interval: str) -> str:
    """Return the interval or raise naming the valid ones."""
    if interval not in INTERVALS:
        raise SettingsError(
            f"interval {interval!r} is not supported; use one of: {', '.join(INTERVALS)}"
        )
    return interval


def interval_ms(interval: str) -> int:
    """The length of one candle in milliseconds (e.g. '4h' -> 14,400,000)."""
    check_interval(interval)
    return int(interval[:-1]) * _UNITS[interval[-1]]


def interval_step(interval: str) -> timedelta:
    """The length of one candle."""
    return timedelta(milliseconds=interval_ms(interval))


def candles_in(span: timedelta, interval: str) -> int:
    """How many whole candles of interval fit in span (at least 1)."""
    return max(1, span // interval_step(interval))


def interval_words(interval: str) -> str:
    """'1-minute', '4-hour', '1-day': the interval as an adjective for labels."""
    check_interval(interval)
    unit = {"m": "minute", "h": "hour", "d": "day"}[interval[-1]]
    return f"{interval[:-1]}-{unit}"


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (UTC)."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def epoch_ms(times: pd.Series) -> pd.Series:
    """UTC times as integer milliseconds since the epoch."""
    return times.astype("datetime64[ms, UTC]").astype("int64")


def last_closed_open(now: datetime, interval: str) -> datetime:
    """The open time of the newest candle closed by `now` (Binance aligns candles to the epoch)."""
    step = interval_ms(interval)
    return from_ms((to_ms(now) // step - 1) * step)
