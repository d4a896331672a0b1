"""The daily run: per symbol, the sync (candles to the newest closed candle, then features),
then the live loop's step (the served model's and the baselines' forecasts from each new origin
into `predictions`, and the scoring of logged forecasts whose target candle has closed).

The sync is the same operation as the backfill (`feature_pipeline.sync`); what the daily run
adds is a status per symbol (ok, up-to-date, stale, error), the forecast log, and that one
symbol's failure never stops the others. A symbol with nothing stored yet is fetched from its
first candle, so adding a symbol to the schedule needs no separate step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from candlecast.errors import CandlecastError
from candlecast.intervals import interval_step, last_closed_open
from daily_pipeline.summary import ERROR, OK, STALE, UP_TO_DATE, DailySummary, SymbolResult
from feature_pipeline.fetch import stopped_trading
from feature_pipeline.sync import last_stored, sync_series

if TYPE_CHECKING:
    from candlecast.settings import Settings
    from feature_pipeline.fetch import CandleSource
    from feature_store.base import FeatureStore, ModelRegistry

logger = logging.getLogger(__name__)


def run(
    settings: Settings,
    store: FeatureStore,
    source: CandleSource,
    symbols: Sequence[str] | None = None,
    interval: str | None = None,
    now: datetime | None = None,
    progress: Callable[[SymbolResult], object] | None = None,
    registry: ModelRegistry | None = None,
) -> DailySummary:
    """Bring every symbol's candles and features up to the last closed candle before `now`;
    with a registry, log the forecasts from the new origins and score those that closed."""
    symbols = tuple(symbols or settings.symbols)
    interval = interval or settings.interval
    now = now or settings.clock()
    started = time.perf_counter()
    results = []
    for symbol in symbols:
        results.append(update_symbol(store, source, symbol, interval, now, registry))
        if progress is not None:
            progress(results[-1])
    return DailySummary(now, interval, tuple(results), seconds=time.perf_counter() - started)


def update_symbol(
    store: FeatureStore,
    source: CandleSource,
    symbol: str,
    interval: str,
    now: datetime,
    registry: ModelRegistry | None = None,
) -> SymbolResult:
    """Sync one series, then (with a registry) log and score its forecasts; a failure is
    reported (what was committed stays, and is correct)."""
    try:
        result = _update(store, source, symbol, interval, now)
    except CandlecastError as error:
        logger.warning("daily run failed for %s %s: %s", symbol, interval, error)
        return _failure(store, symbol, interval, now, str(error))
    except Exception as error:  # a bug or a library error must not stop the other symbols
        logger.exception("daily run crashed for %s %s", symbol, interval)
        return _failure(store, symbol, interval, now, f"{type(error).__name__}: {error}")
    if registry is None or result.last_closed is None:
        return result
    return _with_forecasts(result, store, registry, now)


def _with_forecasts(
    result: SymbolResult, store: FeatureStore, registry: ModelRegistry, now: datetime
) -> SymbolResult:
    """The result with the forecasts logged from the new origins and the closed ones scored."""
    from daily_pipeline.predictions import log_forecasts, logged_models
    from daily_pipeline.scoring import score

    symbol, interval = result.symbol, result.interval
    try:
        models = logged_models(registry, symbol, interval)
        logged = log_forecasts(store, models, symbol, interval, now=now)
        scored = score(store, symbol, interval, now=now)
    except Exception as error:  # the candles and features stay; the next run logs what is missing
        if isinstance(error, CandlecastError):
            message = str(error)
        else:
            logger.exception("logging forecasts crashed for %s %s", symbol, interval)
            message = f"{type(error).__name__}: {error}"
        return replace(
            result,
            status=ERROR,
            message=f"candles and features are up to date; forecasts not logged: {message}",
        )
    return replace(result, forecasts_logged=logged, forecasts_scored=scored)


def _update(
    store: FeatureStore, source: CandleSource, symbol: str, interval: str, now: datetime
) -> SymbolResult:
    synced = sync_series(store, source, symbol, interval, now=now)
    last = synced.last_stored
    written = (synced.candles_written, synced.features_written)
    if last is None:
        return _result(symbol, interval, now, last, STALE, *written)
    if stopped_trading(last, now, interval):
        status = STALE
    elif synced.candles_written or synced.features_written:
        status = OK
    else:
        status = UP_TO_DATE
    return _result(symbol, interval, now, last, status, *written)


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
        message = _message(status, last, interval, now, candles, features)
    return SymbolResult(symbol, interval, status, candles, features, last, lag, message)


def _message(
    status: str, last: datetime | None, interval: str, now: datetime, candles: int, features: int
) -> str:
    if last is None:
        return "the exchange has no closed candles for this series"
    expected = last_closed_open(now, interval)
    if status == STALE:
        return (
            f"no candle after {last:%Y-%m-%d %H:%M}, expected up to {expected:%Y-%m-%d %H:%M} "
            "(stopped trading or delisted?)"
        )
    if features and not candles:
        return f"caught up {features} feature row(s) that an earlier run did not write"
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
