"""Data freshness: how long ago a series' last stored candle closed, and when that is stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from candlecast.errors import ValidationError
from candlecast.intervals import interval_step

# Data is stale once a newer candle has been closed for a quarter of an interval (6 h for daily
# candles) without reaching the store, but never sooner than PUBLICATION_GRACE after that close:
# Binance publishes a closed candle within seconds, the schedule runs the job a minute after the
# close and a run takes up to a few minutes, so 1m data is stale 6 minutes after its last candle
# closed, not 15 seconds after the next one did.
STALE_AFTER_INTERVALS = 0.25
PUBLICATION_GRACE = timedelta(minutes=5)


class StaleDataError(ValidationError):
    """The newest stored candle is older than the data freshness rule allows."""


@dataclass(frozen=True)
class Freshness:
    """How recent a series is: its last closed candle and how long ago that candle closed."""

    symbol: str
    interval: str
    last_open_time: datetime
    closed_at: datetime
    checked_at: datetime
    stale_after: timedelta

    @property
    def age(self) -> timedelta:
        return self.checked_at - self.closed_at

    @property
    def stale(self) -> bool:
        return self.age > self.stale_after

    @property
    def data_through(self) -> str:
        return format_time(self.last_open_time, self.interval)

    def describe(self) -> str:
        """'data through 2026-01-05 (closed 12 hours ago)'."""
        return f"data through {self.data_through} (closed {describe_age(self.age)})"

    def warning(self) -> str | None:
        """A message saying what to do when the data is stale, else None."""
        if not self.stale:
            return None
        return (
            f"stale data: the {self.symbol} {self.interval} series ends with the candle of "
            f"{self.data_through}, which closed {describe_age(self.age)}; run `candlecast daily "
            f"--symbols {self.symbol} --interval {self.interval}` to catch up"
        )


def freshness_of(
    last_open_time: datetime, *, symbol: str, interval: str, now: datetime
) -> Freshness:
    """The freshness of a series whose last stored candle opened at last_open_time."""
    step = interval_step(interval)
    return Freshness(
        symbol=symbol,
        interval=interval,
        last_open_time=last_open_time,
        closed_at=last_open_time + step,
        checked_at=now,
        stale_after=stale_after(interval),
    )


def stale_after(interval: str) -> timedelta:
    """How long after its last candle closed a series counts as stale: one more candle plus
    a quarter interval or PUBLICATION_GRACE, whichever is longer (1d: 30 h, 4h: 5 h, 1m: 6 min)."""
    step = interval_step(interval)
    return step + max(step * STALE_AFTER_INTERVALS, PUBLICATION_GRACE)


def to_datetime(value: Any) -> datetime:
    """A timezone-aware UTC datetime from a stored event time."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def format_time(moment: datetime, interval: str) -> str:
    """'2026-01-05' for daily candles, '2026-01-05T04:00:00Z' for shorter ones."""
    if interval.endswith("d"):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def days_since(moment: datetime, now: datetime) -> int:
    """Whole days from `moment` to `now` (negative for a clock set before it)."""
    return (now - moment) // timedelta(days=1)


def describe_age(age: timedelta) -> str:
    """'12 hours ago', '3 days ago', 'in 2 hours' for a clock set before the data."""
    seconds = age.total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 3600:
        text = f"{int(seconds // 60)} minutes"
    elif seconds < 2 * 86400:
        text = f"{int(seconds // 3600)} hours"
    else:
        text = f"{int(seconds // 86400)} days"
    return f"in {text}" if future else f"{text} ago"
