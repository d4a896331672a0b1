"""Backfill: full candle history -> validated candles and features in the store, all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from candlecast.intervals import interval_step
from feature_pipeline import features
from feature_pipeline.fetch import CandleSource, FetchReport
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.klines import between
from feature_pipeline.validation import validate_candles, validate_features
from feature_pipeline.writes import GroupWrites, changed_rows, stored_rows
from feature_store.base import FeatureStore

if TYPE_CHECKING:
    from candlecast.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymbolSummary:
    """What the backfill did for one symbol."""

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
    """Extract -> validate -> engineer -> validate -> write `candles` then `features`, per symbol.

    Every symbol is checked with the source before anything is written, and a failure anywhere
    restores both groups to their versions from before the run. Running it again changes nothing.
    """
    now = settings.clock()
    end = min(end or now, now)
    starts = {symbol: _first_wanted(source, symbol, interval, start) for symbol in symbols}
    groups = {spec.table_name for spec in store.list_groups()}  # listed once, grown by the writes
    with GroupWrites(store) as writes:
        summaries = [
            _backfill_one(
                store, writes, groups, source, symbol, interval, starts[symbol], end, progress
            )
            for symbol in symbols
        ]
    return BackfillSummary(source=source.name, interval=interval, symbols=summaries)


def _first_wanted(
    source: CandleSource, symbol: str, interval: str, start: datetime | None
) -> datetime:
    """The later of `start` and the symbol's first candle (UnknownSymbolError comes from here)."""
    first = source.first_open_time(symbol, interval)
    return max(start, first) if start is not None else first


def _backfill_one(
    store: FeatureStore,
    writes: GroupWrites,
    groups: set[str],
    source: CandleSource,
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    progress: bool,
) -> SymbolSummary:
    # Extract with enough history before `start` for the first feature row. Windows count rows,
    # and exchange outages remove rows, so the time span holds twice the rows a window needs.
    fetch_from = start - 2 * features.LOOKBACK * interval_step(interval)
    candles, report = _fetch(source, symbol, interval, fetch_from, end, progress)
    validate_candles(candles)
    engineered = validate_features(features.engineer(candles)) if len(candles) else None
    new_candles = between(candles, start, end)
    new_features = (
        between(engineered, start, end) if engineered is not None else new_candles.iloc[:0]
    )
    # Write only what changes; both groups or neither (GroupWrites undoes on failure).
    candle_rows = changed_rows(
        new_candles, stored_rows(store, CANDLES, symbol, interval, start, end, groups), CANDLES
    )
    feature_rows = changed_rows(
        new_features, stored_rows(store, FEATURES, symbol, interval, start, end, groups), FEATURES
    )
    for spec, rows in ((CANDLES, candle_rows), (FEATURES, feature_rows)):
        if writes.upsert(spec, rows) is not None:
            groups.add(spec.table_name)
    summary = _summary(report, start, end, len(candle_rows), len(feature_rows))
    for note in report.notes():
        logger.info("%s", note)
    return summary


def _fetch(
    source: CandleSource, symbol: str, interval: str, start: datetime, end: datetime, progress: bool
) -> tuple[pd.DataFrame, FetchReport]:
    expected = max(1, int((end - start) / interval_step(interval)) + 1)
    with tqdm(
        total=expected,
        desc=f"{symbol} {interval}",
        unit="candle",
        disable=not progress,
        leave=False,
    ) as bar:
        candles, report = source.fetch(symbol, interval, start, end, progress=bar.update)
        bar.update(max(0, expected - bar.n))
    return candles, report


def _summary(
    report: FetchReport, start: datetime, end: datetime, candles: int, feats: int
) -> SymbolSummary:
    return SymbolSummary(
        symbol=report.symbol,
        interval=report.interval,
        start=start,
        end=end,
        rows_fetched=report.rows,
        candles_written=candles,
        features_written=feats,
        gaps=[str(gap) for gap in report.gaps if gap.before > start],
        last_closed=report.last_closed,
        stopped_trading=report.stopped_trading,
        requests=report.requests,
        retries=report.retries,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
