"""The live track record: a model's logged forecasts next to what happened, and rolling figures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

from daily_pipeline.groups import KINDS, LIVE
from daily_pipeline.monitor import (
    ALL,
    HORIZONS,
    MAX_MAE_RATIO,
    MIN_COVERAGE,
    RULE_HORIZON,
    RULE_WINDOW,
    WINDOWS,
    SeriesMonitor,
    monitor_series,
    scored,
)
from feature_store.base import FeatureStore
from inference_app.freshness import format_time, to_datetime

RECORD_HORIZONS = (1, 7)  # the horizons the chart draws
READ_EVERY = timedelta(minutes=3)  # outcomes change once a candle; a page load need not read them
TABLE_COLUMNS = [
    "kind",
    "horizon",
    "last N",
    "scored",
    "MAE ratio vs no change",
    "interval score ratio vs no change",
    "80% coverage",
]


@dataclass(frozen=True)
class LiveRecord:
    """One model's scored forecasts of a series, both kinds, with the series' rolling figures.

    Forecasts whose origin lies inside the fitting data of the model that made them are left out
    (`excluded_in_sample` counts them for the whole series).
    """

    symbol: str
    interval: str
    model: str  # the registry name the log keys on
    served: str | None
    outcomes: pd.DataFrame  # this model's scored forecasts, every horizon
    monitors: dict[str, SeriesMonitor] = field(default_factory=dict)  # live; hindcast if any
    logged_models: tuple[str, ...] = ()  # every model of the series with a scored forecast
    excluded_in_sample: int = 0

    @property
    def empty(self) -> bool:
        return self.outcomes.empty

    def points(self, horizon: int, kind: str) -> pd.DataFrame:
        """The scored forecasts of one horizon and kind, oldest target first."""
        rows = self.outcomes.loc[
            (self.outcomes["horizon"] == horizon) & (self.outcomes["kind"] == kind)
        ]
        return rows.sort_values("target_time").reset_index(drop=True)

    def actuals(self) -> pd.Series:
        """The closes of every scored target candle, by target open time."""
        closes = self.outcomes.drop_duplicates("target_time").set_index("target_time")["actual"]
        return closes.sort_index()

    def count(self, horizon: int, kind: str) -> int:
        rows = self.outcomes
        return int(((rows["horizon"] == horizon) & (rows["kind"] == kind)).sum())


def live_record(
    outcomes: pd.DataFrame,
    *,
    symbol: str,
    interval: str,
    model: str,
    served: str | None,
    excluded_in_sample: int = 0,
) -> LiveRecord:
    """The record of `model` from the series' scored forecasts (`monitor.scored`, kind 'all')."""
    mine = outcomes.loc[outcomes["model"] == model].reset_index(drop=True)
    monitors = {
        kind: monitor_series(
            outcomes.loc[outcomes["kind"] == kind],
            symbol,
            interval,
            served,
            kind=kind,
            excluded_in_sample=excluded_in_sample,
        )
        for kind in KINDS
        if (mine["kind"] == kind).any() or kind == LIVE
    }
    return LiveRecord(
        symbol=symbol,
        interval=interval,
        model=model,
        served=served,
        outcomes=mine,
        monitors=monitors,
        logged_models=tuple(sorted(str(m) for m in outcomes["model"].unique())),
        excluded_in_sample=excluded_in_sample,
    )


def rolling_table(
    record: LiveRecord, horizons: tuple[int, ...] = HORIZONS, windows: tuple[int, ...] = WINDOWS
) -> pd.DataFrame:
    """Per kind, horizon and window: the model's scored count, ratios to no change, coverage."""
    rows = []
    for kind, monitor in record.monitors.items():
        if not (record.outcomes["kind"] == kind).any():
            continue
        for h in horizons:
            for w in windows:
                figure = monitor.figure(record.model, h, w)
                if figure is None:
                    continue
                rows.append(
                    [
                        kind,
                        h,
                        w,
                        figure.scored,
                        _round(figure.mae_ratio),
                        _round(figure.winkler_ratio),
                        "" if figure.coverage is None else f"{figure.coverage:.0%}",
                    ]
                )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def record_words(record: LiveRecord, served_age: str) -> str:
    """Markdown above the chart: the served model and its age, what is plotted, the alert rule."""
    lines = [
        f"#### Live track record of {record.model}"
        + (" (served)" if record.model == record.served else ""),
        f"**Served model:** {served_age}.",
        "**Scored forecasts:** " + _count_words(record) + ".",
        _monitor_words(record.monitors.get(LIVE)),
        "Each point is a forecast as the daily run logged it, drawn at the candle it targets, "
        "with its 80% interval; live ones were made within a day of their origin candle's close, "
        "hindcasts later, as of their origin. A ratio below 1 means a smaller error (or interval "
        "score) than no change's forecasts from the same origins.",
    ]
    return "\n\n".join(lines)


def empty_words(record: LiveRecord, served_age: str) -> str:
    """One line for a model with no scored forecasts in the log, and the served model's age."""
    if record.logged_models:
        held = f"it holds those of {', '.join(record.logged_models)}"
    else:
        held = "the daily run logs and scores them as their target candles close"
    return (
        f"No forecasts of {record.model} are scored in the prediction log yet; {held}. "
        f"Served model: {served_age}."
    )


def _count_words(record: LiveRecord) -> str:
    parts = []
    for h in RECORD_HORIZONS:
        kinds = [f"{record.count(h, kind)} {kind}" for kind in KINDS if record.count(h, kind)]
        parts.append(f"{' and '.join(kinds) or 'none'} at h = {h}")
    last = to_datetime(record.outcomes["target_time"].max())
    text = (
        "; ".join(parts) + f"; the last target candle opened {format_time(last, record.interval)}"
    )
    if record.excluded_in_sample:
        text += (
            f" ({record.excluded_in_sample} forecasts of the series left out: their origin lies "
            "inside the fitting data of the model that made them)"
        )
    return text


def _monitor_words(monitor: SeriesMonitor | None) -> str:
    rule = (
        f"the served model is degraded when, over its last {RULE_WINDOW} scored h = {RULE_HORIZON} "
        f"live forecasts, its MAE ratio is above {MAX_MAE_RATIO} or its coverage below "
        f"{MIN_COVERAGE:.0%}"
    )
    if monitor is None or monitor.served is None:
        return f"**Monitor:** no figures yet ({rule})."
    if monitor.is_degraded:
        return f"**Monitor: degraded.** {'; '.join(monitor.degraded)} ({rule})."
    if monitor.note:
        return f"**Monitor:** not judged yet: {monitor.note} ({rule})."
    figure = monitor.figure(monitor.served, RULE_HORIZON, RULE_WINDOW)
    figures = ""
    if figure is not None:
        ratio = "n/a" if figure.mae_ratio is None else f"{figure.mae_ratio:.3f}"
        coverage = "n/a" if figure.coverage is None else f"{figure.coverage:.0%}"
        figures = f": MAE ratio {ratio}, coverage {coverage}"
    return f"**Monitor:** not degraded{figures} ({rule})."


def _round(value: float | None) -> float:
    return round(value, 3) if value is not None else float("nan")


class OutcomeLog:
    """The scored forecasts of each series, read from the store at most every `read_every`."""

    def __init__(
        self,
        store: FeatureStore,
        interval: str,
        *,
        read_every: timedelta = READ_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.interval = interval
        self.read_every = read_every
        self._monotonic = monotonic
        self._lock = threading.Lock()  # guards _symbol_locks only
        self._symbol_locks: dict[str, threading.Lock] = {}
        self._read: dict[str, tuple[float, pd.DataFrame, int]] = {}

    def scored(self, symbol: str) -> tuple[pd.DataFrame, int]:
        """Every kind of the series' scored forecasts, in-sample ones left out, and their count.

        One thread at a time reads a symbol's log; other symbols' readers are not held up.
        """
        with self._lock:
            lock = self._symbol_locks.setdefault(symbol, threading.Lock())
        with lock:
            now = self._monotonic()
            cached = self._read.get(symbol)
            if cached and now - cached[0] < self.read_every.total_seconds():
                return cached[1], cached[2]
            frame, excluded = scored(self.store, symbol, self.interval, kind=ALL)
            self._read[symbol] = (now, frame, excluded)
            return frame, excluded
