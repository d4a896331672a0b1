"""One sync per series: candles up to the newest closed candle, then features up to candles.

Backfill and the daily run are this one operation with different candle ranges. Each step is
one commit of correct closed-candle facts, so nothing is ever undone: a run that dies between
the two commits leaves features behind candles, and the next run of either command computes
what the features group lacks from the group itself. The rule it restores: every stored candle
with a full look-back (`LOOKBACK` rows, the candle included) has a feature row, computed from
the stored candles.

Counts are what the store reports it wrote (rows inserted or updated by the merge), so runs at
the same time do not report the same rows twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.errors import FeatureGroupNotFound
from candlecast.intervals import interval_step, last_closed_open
from feature_pipeline.changes import changed_rows
from feature_pipeline.features import LOOKBACK, engineer
from feature_pipeline.fetch import CandleSource, FetchReport
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.klines import between, closed_only, conform
from feature_pipeline.validation import check_plausible, validate_candles, validate_features
from feature_store.base import FeatureGroupSpec, FeatureStore

logger = logging.getLogger(__name__)

# Windows count rows and exchange outages remove some, so time spans hold twice the rows needed.
SPAN_FACTOR = 2
CONTEXT = 20  # stored candles on each side that new ones are judged against (plausibility)


@dataclass(frozen=True)
class SeriesSync:
    """What one sync did to a series."""

    symbol: str
    interval: str
    fetched: int  # candles the source returned (0 when the series was already up to date)
    candles_written: int  # rows the store reports it inserted or updated
    features_written: int
    last_stored: datetime | None  # the newest stored candle after the sync
    report: FetchReport | None = None  # None when nothing was asked of the source


def sync_series(
    store: FeatureStore,
    source: CandleSource,
    symbol: str,
    interval: str,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeriesSync:
    """Bring one series' candles, then its features, up to date.

    Without `start`, candles continue from the last stored one (or the series' first candle when
    none is stored). With `start`, the candles from `start` to `end` are fetched again, with the
    `LOOKBACK - 1` candles before `start` that its first feature row needs, and rows that differ
    from the stored ones are rewritten together with the features that depend on them.
    """
    end = min(end or now, now)
    last = last_stored(store, symbol, interval)
    if start is None and last is not None and last >= min(end, last_closed_open(now, interval)):
        fetched, report, written, dirty = 0, None, 0, None
    else:
        if start is None:
            wanted = None if last is None else last + interval_step(interval)
        else:
            wanted = start - SPAN_FACTOR * LOOKBACK * interval_step(interval)
        frame, report = source.fetch(symbol, interval, start=wanted, end=end, progress=progress)
        candles = closed_only(conform(frame), now)
        if start is not None:
            candles = with_history(candles, start, end)
        fetched = len(frame)
        written = write_candles(store, candles)
        dirty = (start, end) if start is not None else None
    features = catch_up_features(store, symbol, interval, recompute=dirty)
    return SeriesSync(
        symbol,
        interval,
        fetched,
        written,
        features,
        last_stored(store, symbol, interval),
        report,
    )


def with_history(candles: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """The candles from `start` to `end`, with the `LOOKBACK - 1` candles before `start`."""
    before = candles.loc[candles["open_time"] < pd.Timestamp(start)].tail(LOOKBACK - 1)
    return pd.concat([before, between(candles, start, end)], ignore_index=True)


def write_candles(store: FeatureStore, candles: pd.DataFrame) -> int:
    """Validate the candles against the rules and their stored neighbours, then upsert the rows
    that are new or changed; the count the store reports."""
    if candles.empty:
        return 0
    validate_candles(candles)
    symbol, interval = candles["symbol"].iloc[0], candles["interval"].iloc[0]
    step = interval_step(interval)
    first, last = candles["open_time"].iloc[0], candles["open_time"].iloc[-1]
    around = read_or_empty(
        store,
        CANDLES,
        symbol=symbol,
        interval=interval,
        start=first - SPAN_FACTOR * CONTEXT * step,
        end=last + SPAN_FACTOR * CONTEXT * step,
    )
    check_plausible(candles, around)
    stored = around.loc[(around["open_time"] >= first) & (around["open_time"] <= last)]
    return _upsert(store, CANDLES, changed_rows(candles, stored, CANDLES))


def catch_up_features(
    store: FeatureStore,
    symbol: str,
    interval: str,
    *,
    recompute: tuple[datetime, datetime] | None = None,
) -> int:
    """Write the feature rows the group lacks (and, within `recompute`, those that differ).

    Every stored candle with `LOOKBACK - 1` stored candles before it must have a feature row.
    `recompute` is a candle range a backfill fetched again: features of those candles and of the
    `LOOKBACK - 1` after them are computed anew and rewritten where they changed.
    """
    times = read_or_empty(store, CANDLES, symbol=symbol, interval=interval, columns=["open_time"])
    expected = times["open_time"].iloc[LOOKBACK - 1 :].reset_index(drop=True)
    if expected.empty:
        return 0
    have = read_or_empty(store, FEATURES, symbol=symbol, interval=interval, columns=["open_time"])
    todo = ~expected.isin(have["open_time"])
    if recompute is not None:
        todo |= _depends_on(expected, times["open_time"], *recompute)
    if not todo.any():
        return 0
    wanted = expected[todo.to_numpy()]
    first = int(np.searchsorted(times["open_time"], wanted.iloc[0])) - (LOOKBACK - 1)
    candles = read_or_empty(
        store,
        CANDLES,
        symbol=symbol,
        interval=interval,
        start=times["open_time"].iloc[first],
        end=wanted.iloc[-1],
    )
    rows = engineer(conform(candles))
    rows = validate_features(rows.loc[rows["open_time"].isin(wanted)].reset_index(drop=True))
    stored = read_or_empty(
        store, FEATURES, symbol=symbol, interval=interval, start=wanted.iloc[0], end=wanted.iloc[-1]
    )
    written = _upsert(store, FEATURES, changed_rows(rows, stored, FEATURES))
    if written:
        logger.info("%s %s: %d feature row(s) written", symbol, interval, written)
    return written


def _depends_on(expected: pd.Series, times: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """Which expected feature keys read a candle opened in start..end (LOOKBACK-1 candles on)."""
    inside = np.flatnonzero(((times >= start) & (times <= end)).to_numpy())
    if not len(inside):
        return pd.Series(False, index=expected.index)
    last = min(len(times) - 1, int(inside[-1]) + LOOKBACK - 1)
    return (expected >= times.iloc[inside[0]]) & (expected <= times.iloc[last])


def last_stored(
    store: FeatureStore, symbol: str, interval: str, spec: FeatureGroupSpec = CANDLES
) -> datetime | None:
    """The open time of a series' last stored candle (or `spec` row; None when it has none)."""
    try:
        frame = store.latest(spec, symbol=symbol, interval=interval, n=1, columns=["open_time"])
    except FeatureGroupNotFound:
        return None
    if frame.empty:
        return None
    return pd.Timestamp(frame["open_time"].iloc[-1]).to_pydatetime()


def read_or_empty(store: FeatureStore, spec: FeatureGroupSpec, **query: object) -> pd.DataFrame:
    """`store.read(spec, ...)`, or an empty frame when the group does not exist yet."""
    try:
        return store.read(spec, **query)
    except FeatureGroupNotFound:
        columns = list(query.get("columns") or spec.schema.names)
        return spec.schema.empty_table().select(columns).to_pandas()


def _upsert(store: FeatureStore, spec: FeatureGroupSpec, rows: pd.DataFrame) -> int:
    if rows.empty:
        return 0
    result = store.upsert(spec, rows)
    return result.inserted + result.updated
