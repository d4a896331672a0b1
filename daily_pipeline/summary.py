"""What a daily run reports: one result per symbol and the run's summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

OK = "ok"
UP_TO_DATE = "up-to-date"
STALE = "stale"
ERROR = "error"


@dataclass(frozen=True)
class SymbolResult:
    """What the daily run did for one (symbol, interval) series."""

    symbol: str
    interval: str
    status: str
    candles_added: int = 0
    features_added: int = 0
    last_closed: datetime | None = None
    lag: timedelta | None = None
    message: str = ""
    forecasts_logged: int = 0  # prediction rows written (every logged model, h = 1..30)
    forecasts_scored: int = 0  # logged forecasts whose target candle closed, scored now

    @property
    def failed(self) -> bool:
        return self.status == ERROR

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601, lag in seconds)."""
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "status": self.status,
            "candles_added": self.candles_added,
            "features_added": self.features_added,
            "last_closed": None if self.last_closed is None else self.last_closed.isoformat(),
            "lag_seconds": None if self.lag is None else int(self.lag.total_seconds()),
            "lag": format_lag(self.lag),
            "message": self.message,
            "forecasts_logged": self.forecasts_logged,
            "forecasts_scored": self.forecasts_scored,
        }


@dataclass(frozen=True)
class DailySummary:
    """Every symbol's result of one daily run at `now`."""

    now: datetime
    interval: str
    results: tuple[SymbolResult, ...]
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[SymbolResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def exit_code(self) -> int:
        """0 when every symbol succeeded (ok, up-to-date or stale), 1 otherwise."""
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the clock, the interval, the outcome and one entry per symbol."""
        return {
            "now": self.now.isoformat(),
            "interval": self.interval,
            "ok": not self.failed,
            "seconds": round(self.seconds, 3),
            "symbols": [r.to_dict() for r in self.results],
        }


def format_lag(lag: timedelta | None) -> str:
    """A lag as '3d 4h', '2h 5m' or '7m' ('-' when unknown)."""
    if lag is None:
        return "-"
    minutes = max(0, int(lag.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"
