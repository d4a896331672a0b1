"""The candle-source interface every source implements, and what one fetch reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import pandas as pd

from candlecast.intervals import interval_step
from feature_pipeline.klines import Gap, find_gaps


@dataclass(frozen=True)
class FetchReport:
    """What one fetch found: rows, real gaps (kept), the last closed candle, a stop in trading."""

    symbol: str
    interval: str
    start: datetime | None
    end: datetime
    rows: int
    gaps: list[Gap] = field(default_factory=list)
    last_closed: datetime | None = None
    stopped_trading: datetime | None = None
    requests: int = 0
    retries: int = 0

    @classmethod
    def of(
        cls,
        frame: pd.DataFrame,
        symbol: str,
        interval: str,
        start: datetime | None,
        end: datetime,
        latest: datetime | None,
        requests: int = 0,
        retries: int = 0,
    ) -> FetchReport:
        """The report of a fetch that returned `frame`; `latest` is the source's newest candle."""
        return cls(
            symbol=symbol,
            interval=interval,
            start=start,
            end=end,
            rows=len(frame),
            gaps=find_gaps(frame, interval),
            last_closed=frame["open_time"].iloc[-1].to_pydatetime() if len(frame) else None,
            stopped_trading=stopped_trading(latest, end, interval),
            requests=requests,
            retries=retries,
        )

    def notes(self) -> list[str]:
        """Human-readable findings: gaps and a symbol that stopped trading."""
        lines = [f"{self.symbol} {self.interval}: {gap}" for gap in self.gaps]
        if self.stopped_trading is not None:
            lines.append(
                f"{self.symbol} {self.interval}: no candles after "
                f"{self.stopped_trading:%Y-%m-%d %H:%M} "
                "(the symbol stopped trading or was delisted)"
            )
        return lines


class CandleSource(Protocol):
    """Where closed candles come from: Binance's REST API, kline CSV files or the raw archive."""

    @property
    def name(self) -> str:
        """A short description, e.g. 'binance' or 'csv:/data'."""

    def first_open_time(self, symbol: str, interval: str) -> datetime:
        """The open time of the symbol's first candle; UnknownSymbolError for unknown symbols."""

    def fetch(
        self,
        symbol: str,
        interval: str,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[pd.DataFrame, FetchReport]:
        """Closed candles (`candles` schema) with start <= open_time <= end, and a report.

        `progress` is called with the number of candles each step delivered (for progress bars).
        """


def stopped_trading(last: datetime | None, end: datetime, interval: str) -> datetime | None:
    """The last candle's open time when the series ends well before `end` (a delisted symbol)."""
    if last is None:
        return None
    step = interval_step(interval)
    allowed = max(3 * step, timedelta(days=1))
    return last if end - (last + step) > allowed else None
