"""Backfill: the sync of every symbol, with an optional candle range and progress bars.

The same operation as the daily run (`feature_pipeline.sync`): candles up to the newest closed
candle (or `end`), then features up to candles. Every symbol is checked with the source before
anything is written. Each commit is a correct closed-candle fact, so a failure undoes nothing:
the next run of either command completes what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from candlecast.errors import SettingsError
from feature_pipeline.fetch import CandleSource
from feature_pipeline.sync import SeriesSync, sync_series
from feature_store.base import FeatureStore

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymbolSummary:
    """What the backfill did for one symbol (rows written as the store reports them)."""

    symbol: str
    interval: str
    start: datetime | None
    end: datetime
    rows_fetched: int
    candles_written: int
    features_written: int
    gaps: list[str] = field(default_factory=list)
    last_closed: datetime | None = None
    stopped_trading: datetime | None = None
    requests: int = 0
    retries: int = 0


@dataclass(frozen=True)
class BackfillSummary:
    """What a backfill run did, per symbol."""

    source: str
    interval: str
    symbols: list[SymbolSummary]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO strings)."""
        return _jsonable(asdict(self))


def run(
    settings: Settings,
    store: FeatureStore,
    source: CandleSource,
    symbols: Sequence[str],
    interval: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    progress: bool = True,
) -> BackfillSummary:
    """Sync every symbol: candles (from `start`, default: after the last stored one, or the
    symbol's first candle) up to `end` (default now), then features up to candles.

    Running it again changes nothing; a run that died anywhere is completed by the next one.
    """
    now = settings.clock()
    end = min(end or now, now)
    if start is not None and start > end:
        raise SettingsError(f"--start {start:%Y-%m-%d %H:%M} is after --end {end:%Y-%m-%d %H:%M}")
    for symbol in symbols:  # UnknownSymbolError before anything is written
        source.first_open_time(symbol, interval)
    summaries = [
        _backfill_one(store, source, symbol, interval, start, end, now, progress)
        for symbol in symbols
    ]
    return BackfillSummary(source=source.name, interval=interval, symbols=summaries)


def _backfill_one(
    store: FeatureStore,
    source: CandleSource,
    symbol: str,
    interval: str,
    start: datetime | None,
    end: datetime,
    now: datetime,
    progress: bool,
) -> SymbolSummary:
    with tqdm(desc=f"{symbol} {interval}", unit="candle", disable=not progress, leave=False) as bar:
        synced = sync_series(
            store, source, symbol, interval, now=now, start=start, end=end, progress=bar.update
        )
    for note in synced.report.notes() if synced.report else []:
        logger.info("%s", note)
    return _summary(synced, start, end)


def _summary(synced: SeriesSync, start: datetime | None, end: datetime) -> SymbolSummary:
    report = synced.report
    gaps = []
    if report is not None:
        after = start or report.start
        gaps = [str(gap) for gap in report.gaps if after is None or gap.before > after]
    return SymbolSummary(
        symbol=synced.symbol,
        interval=synced.interval,
        start=start,
        end=end,
        rows_fetched=synced.fetched,
        candles_written=synced.candles_written,
        features_written=synced.features_written,
        gaps=gaps,
        last_closed=synced.last_stored,
        stopped_trading=report.stopped_trading if report else None,
        requests=report.requests if report else 0,
        retries=report.retries if report else 0,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
