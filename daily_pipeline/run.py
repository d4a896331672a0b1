"""The daily run: per symbol, fetch the closed candles after the last stored one, engineer, upsert.

A symbol with nothing stored yet is fetched from its first candle: the daily run then does the
backfill itself, through the same source, features and validation, so adding a symbol to the
schedule needs no separate step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from candlecast.errors import CandlecastError
from candlecast.intervals import interval_step, last_closed_open
from daily_pipeline.summary import ERROR, OK, STALE, UP_TO_DATE, DailySummary, SymbolResult
from feature_pipeline.features import LOOKBACK, engineer
from feature_pipeline.fetch import stopped_trading
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.klines import closed_only, conform
from feature_pipeline.validation import validate_candles, validate_features
from feature_pipeline.writes import GroupWrites

if TYPE_CHECKING:
    from candlecast.settings import Settings
    from feature_pipeline.fetch import CandleSource
    from feature_store.base import FeatureStore

logger = logging.getLogger(__name__)


def run(
    settings: Settings,
    store: FeatureStore,
    source: CandleSource,
    symbols: Sequence[str] | None = None,
    interval: str | None = None,
    now: datetime | None = None,
    progress: Callable[[SymbolResult], object] | None = None,
) -> DailySummary:
    """Bring every symbol's candles and features up to the last closed candle before `now`."""
    symbols = tuple(symbols or settings.symbols)
    interval = interval or settings.interval
    now = now or settings.clock()
    started = time.perf_counter()
    for spec in (CANDLES, FEATURES):
        store.ensure(spec)
    results = []
    for symbol in symbols:
        results.append(update_symbol(store, source, symbol, interval, now))
        if progress is not None:
            progress(results[-1])
    return DailySummary(now, interval, tuple(results), seconds=time.perf_counter() - started)


def update_symbol(
    store: FeatureStore, source: CandleSource, symbol: str, interval: str, now: datetime
) -> SymbolResult:
    """Update one series; a failure is reported and leaves the series' store content as it was."""
    try:
        return _update(store, source, symbol, interval, now)
    except CandlecastError as error:
        logger.warning("daily run failed for %s %s: %s", symbol, interval, error)
        return _failure(store, symbol, interval, now, str(error))
    except Exception as error:  # a bug or a library error must not stop the other symbols
        logger.exception("daily run crashed for %s %s", symbol, interval)
        return _failure(store, symbol, interval, now, f"{type(error).__name__}: {error}")


def _update(
    store: FeatureStore, source: CandleSource, symbol: str, interval: str, now: datetime
) -> SymbolResult:
    last = last_stored(store, symbol, interval)
    if last is not None and last >= last_closed_open(now, interval):
        return _result(symbol, interval, now, last, UP_TO_DATE)
    start = None if last is None else last + interval_step(interval)
    fetched, _report = source.fetch(symbol, interval, start=start, end=now)
    fresh = new_candles(fetched, last, now)
    if fresh.empty:
        status = STALE if last is None or stopped_trading(last, now, interval) else UP_TO_DATE
        return _result(symbol, interval, now, last, status)
    history = look_back(store, symbol, interval, last) if last else None
    features = validate_features(new_features(history, fresh, last))
    written = write_both(store, validate_candles(fresh), features)
    newest = fresh["open_time"].iloc[-1].to_pydatetime()
    status = STALE if stopped_trading(newest, now, interval) else OK
    return _result(symbol, interval, now, newest, status, len(fresh), written)


def last_stored(store: FeatureStore, symbol: str, interval: str) -> datetime | None:
    """The open time of the last stored candle of a series (None when nothing is stored)."""
    frame = store.latest(CANDLES, symbol=symbol, interval=interval, n=1, columns=["open_time"])
    if frame.empty:
        return None
    return pd.Timestamp(frame["open_time"].iloc[-1]).to_pydatetime()


def look_back(store: FeatureStore, symbol: str, interval: str, last: datetime) -> pd.DataFrame:
    """The LOOKBACK stored candles up to `last` (a concurrent run's newer rows are ignored)."""
    # Windows count rows and outages remove some, so read a span that holds several windows.
    start = last - 4 * LOOKBACK * interval_step(interval)
    history = store.read(CANDLES, symbol=symbol, interval=interval, start=start, end=last)
    return history.tail(LOOKBACK).reset_index(drop=True)


def new_candles(fetched: pd.DataFrame, last: datetime | None, now: datetime) -> pd.DataFrame:
    """The closed candles after `last`, sorted by open time, in the `candles` schema."""
    frame = closed_only(conform(fetched), now)
    if last is not None:
        frame = frame.loc[frame["open_time"] > pd.Timestamp(last)]
    return frame.sort_values("open_time").reset_index(drop=True)


def new_features(
    history: pd.DataFrame | None, fresh: pd.DataFrame, last: datetime | None
) -> pd.DataFrame:
    """Feature rows of the fresh candles, engineered with the stored look-back before them."""
    candles = fresh if history is None or history.empty else _concat(conform(history), fresh)
    features = engineer(candles)
    if last is not None:
        features = features.loc[features["open_time"] > pd.Timestamp(last)]
    return features.reset_index(drop=True)


def write_both(store: FeatureStore, candles: pd.DataFrame, features: pd.DataFrame) -> int:
    """Upsert candles, then features: both or neither (a failed second write restores the first)."""
    with GroupWrites(store) as writes:
        writes.upsert(CANDLES, candles)
        writes.upsert(FEATURES, features)
    return len(features)


def _concat(history: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([history, fresh], ignore_index=True)


def _result(
    symbol: str,
    interval: str,
    now: datetime,
    last: datetime | None,
    status: str,
    candles: int = 0,
    features: int = 0,
    message: str | None = None,
) -> SymbolResult:
    lag = None if last is None else now - (last + interval_step(interval))
    if message is None:
        message = _message(status, last, interval, now)
    return SymbolResult(symbol, interval, status, candles, features, last, lag, message)


def _message(status: str, last: datetime | None, interval: str, now: datetime) -> str:
    if last is None:
        return "the exchange has no closed candles for this series"
    expected = last_closed_open(now, interval)
    if status == STALE:
        return (
            f"no candle after {last:%Y-%m-%d %H:%M}, expected up to {expected:%Y-%m-%d %H:%M} "
            "(stopped trading or delisted?)"
        )
    if last < expected:
        return f"the {expected:%Y-%m-%d %H:%M} candle is not published yet; the next run fetches it"
    return ""


def _failure(
    store: FeatureStore, symbol: str, interval: str, now: datetime, message: str
) -> SymbolResult:
    try:
        last = last_stored(store, symbol, interval)
    except Exception:  # the store itself may be what failed; the error message already says so
        last = None
    return _result(symbol, interval, now, last, ERROR, message=message)
