"""The Forecaster: latest features + a registered model -> the next N closes, 80% intervals."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from candlecast.errors import (
    CandlecastError,
    FeatureGroupNotFound,
    ModelNotFound,
    ValidationError,
)
from candlecast.intervals import candles_in, interval_step
from candlecast.settings import Settings, check_symbol
from feature_pipeline.groups import FEATURES
from feature_store.base import FeatureGroupSpec, FeatureStore, ModelRegistry, ModelVersion
from inference_app.freshness import Freshness, format_time, freshness_of, to_datetime
from inference_app.serving import (
    RELOAD_EVERY,
    UNTRAINED,
    LoadedModel,
    ModelLoader,
    candle_fields,
    parse_model_choice,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from inference_app.live_record import OutcomeLog

logger = logging.getLogger(__name__)

MAX_DAYS = 30
DEFAULT_DAYS = 7  # daily candles: a week


@dataclass(frozen=True)
class ForecastPoint:
    """One horizon: the candle's open time, the median and the 80% interval of its close."""

    horizon: int
    date: datetime
    median: float
    low: float
    high: float
    change: float  # median / last close - 1
    # high/low of the candle and P(up) (`serving.CANDLE_FIELDS`; None: not forecast by the model)
    candle: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelAge:
    """How old the model is at a forecast's origin: the candles since its fitting data ended."""

    trained_until: datetime | None
    candles: int | None
    limit: int

    def warning(self, label: str, symbol: str, interval: str) -> str | None:
        if self.trained_until is None or self.candles is None:
            return None
        through = self.trained_until.strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")
        if self.candles < 0:
            return (
                f"model {label} was fitted on candles through {through}, after this origin: "
                "the forecast is in sample"
            )
        if self.candles > self.limit:
            return (
                f"model {label} was fitted on candles through {through}, {self.candles} candles "
                f"before this forecast's origin (limit {self.limit}); refit it with "
                f"`candlecast retrain --symbols {symbol} --interval {interval}`"
            )
        return None


@dataclass(frozen=True)
class Forecast:
    """A forecast of the candles after the origin (the last closed one, or `as_of`)."""

    symbol: str
    interval: str
    loaded: LoadedModel
    last_close: float
    freshness: Freshness
    age: ModelAge
    points: tuple[ForecastPoint, ...]
    as_of: datetime | None = None

    @property
    def model(self) -> ModelVersion:
        return self.loaded.version

    @property
    def kind(self) -> str:
        return str(self.loaded.bundle.kind)

    @property
    def data_through(self) -> str:
        return self.freshness.data_through

    def model_warning(self) -> str | None:
        """Why the model's forecast deserves care: no trained model, too old, or in sample."""
        if self.loaded.role == UNTRAINED:
            return (
                f"no model is trained for {self.symbol} {self.interval}: this is no change with "
                "the empirical band of the last 365 moves; train one with `candlecast train "
                f"--symbols {self.symbol} --interval {self.interval}`"
            )
        return self.age.warning(self.loaded.label, self.symbol, self.interval)

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope of `candlecast forecast --json` and of the app's /forecast endpoint."""
        trained_until = self.age.trained_until
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "kind": self.kind,
                "role": self.loaded.role,
                "trained_until": format_time(trained_until, self.interval)
                if trained_until
                else None,
                "age_candles": self.age.candles,
                "decision": self.loaded.decision,
            },
            "as_of": format_time(self.as_of, self.interval) if self.as_of else None,
            "data_through": self.data_through,
            "last_close": self.last_close,
            "stale": self.freshness.stale,
            "warning": self.freshness.warning(),
            "model_warning": self.model_warning(),
            "forecast": [
                {
                    "date": format_time(p.date, self.interval),
                    "horizon": p.horizon,
                    "median": p.median,
                    "low": p.low,
                    "high": p.high,
                    "change": p.change,
                    **p.candle,
                }
                for p in self.points
            ],
        }


def forecast_points(
    predicted: pd.DataFrame,
    *,
    last_close: float,
    last_open_time: datetime,
    step: timedelta,
    days: int,
) -> tuple[ForecastPoint, ...]:
    """Turn predicted cumulative log returns (horizon, low, median, high) into prices and dates."""
    rows = predicted.sort_values("horizon").head(days)
    points = []
    for row in rows.itertuples(index=False):
        low, median, high = sorted(float(v) for v in (row.low, row.median, row.high))
        horizon = int(row.horizon)
        points.append(
            ForecastPoint(
                horizon=horizon,
                date=last_open_time + step * horizon,
                median=last_close * math.exp(median),
                low=last_close * math.exp(low),
                high=last_close * math.exp(high),
                change=math.expm1(median),
                candle=candle_fields(row._asdict(), last_close),
            )
        )
    return tuple(points)


def default_steps(interval: str) -> int:
    """The candles-ahead default of the app and the CLI: a week of daily candles; a day of
    shorter ones (12h: 2, 4h: 6, 1h: 24), at most MAX_DAYS (the models' horizon), so 30 for 30m
    and shorter: a day of 1m candles (1,440) is far past what a model forecasts."""
    if interval == "1d":
        return DEFAULT_DAYS
    return min(MAX_DAYS, candles_in(timedelta(days=1), interval))


def check_days(days: float | int | None, limit: int = MAX_DAYS) -> int:
    """Candles ahead (`days` for daily candles) as an int in 1..limit, or a ValidationError."""
    if days is None or isinstance(days, bool) or not float(days).is_integer():
        raise ValidationError(
            f"candles ahead must be a whole number from 1 to {limit}, got {days!r}"
        )
    if not 1 <= int(days) <= limit:
        raise ValidationError(f"candles ahead must be between 1 and {limit}, got {int(days)}")
    return int(days)


class Forecaster:
    """One code path for the app, the CLI and the tests: store + registry -> forecasts."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: FeatureStore | None = None,
        registry: ModelRegistry | None = None,
        reload_every: timedelta = RELOAD_EVERY,
        loader: Callable[[Any], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.interval = settings.interval
        self._store = store
        self._registry = registry
        self._reload_every = reload_every
        self._loader = loader
        self._models: ModelLoader | None = None
        self._log: OutcomeLog | None = None
        self._opening = threading.Lock()  # the app's events may ask for these at the same time

    @property
    def store(self) -> FeatureStore:
        with self._opening:
            if self._store is None:
                from feature_store import open_store

                self._store = open_store(self.settings)
            return self._store

    @property
    def models(self) -> ModelLoader:
        with self._opening:
            if self._models is None:
                if self._registry is None:
                    from feature_store import open_registry

                    self._registry = open_registry(self.settings)
                extra = {"loader": self._loader} if self._loader else {}
                self._models = ModelLoader(self._registry, reload_every=self._reload_every, **extra)
            return self._models

    @property
    def log(self) -> OutcomeLog:
        """The scored forecasts of the prediction log, read at most every reload_every."""
        store = self.store
        with self._opening:
            if self._log is None:
                from inference_app.live_record import OutcomeLog

                self._log = OutcomeLog(store, self.interval, read_every=self._reload_every)
            return self._log

    def symbols(self) -> list[str]:
        """The symbols whose features the store holds at this interval."""
        try:
            series = self.store.series(FEATURES)
        except FeatureGroupNotFound:
            return []
        return sorted({s.symbol for s in series if s.interval == self.interval and s.rows})

    def model(self, symbol: str, model: str | None = None) -> LoadedModel:
        """The loaded model for a symbol: 'best' (default), NAME or NAME:VERSION."""
        symbol = check_symbol(symbol.strip().upper())
        try:
            return self.models.get(parse_model_choice(model), symbol=symbol, interval=self.interval)
        except ModelNotFound:
            self._check_symbol_stored(symbol)
            raise

    def model_choices(self, symbol: str) -> list[str]:
        """'NAME:VERSION' of the models registered for a symbol at this interval, newest first."""
        return self.models.choices(symbol, self.interval)

    def latest(self, spec: FeatureGroupSpec, symbol: str, rows: int) -> pd.DataFrame:
        """The last `rows` rows of one series of a group, oldest first; raises if there are none."""
        try:
            frame = self.store.latest(spec, symbol=symbol, interval=self.interval, n=rows)
        except FeatureGroupNotFound:
            frame = pd.DataFrame()
        if frame.empty:
            self._check_symbol_stored(symbol)
            raise FeatureGroupNotFound(
                f"the {spec.table_name} group holds no {symbol} {self.interval} rows; run "
                f"`candlecast backfill --symbols {symbol} --interval {self.interval}`"
            )
        return frame.reset_index(drop=True)

    def rows_until(
        self, spec: FeatureGroupSpec, symbol: str, as_of: datetime, rows: int
    ) -> pd.DataFrame:
        """The last `rows` rows of a series whose candles opened at or before `as_of`."""
        last = to_datetime(self.latest(spec, symbol, 1)["open_time"].iloc[-1])
        if as_of > last:
            raise ValidationError(
                f"as of {format_time(as_of, self.interval)} is after the last closed "
                f"{self.interval} candle of {symbol} ({format_time(last, self.interval)}); "
                "pass that date or an earlier one"
            )
        read = {"symbol": symbol, "interval": self.interval, "end": as_of}
        start = as_of - interval_step(self.interval) * (2 * rows + 10)
        frame = self.store.read(spec, start=start, **read)
        if len(frame) < rows:  # a gap in the series: read everything up to as_of
            frame = self.store.read(spec, **read)
        if frame.empty:
            first = to_datetime(
                self.store.read(spec, symbol=symbol, interval=self.interval, columns=["open_time"])[
                    "open_time"
                ].min()
            )
            raise ValidationError(
                f"as of {format_time(as_of, self.interval)} is before the {symbol} "
                f"{self.interval} features start ({format_time(first, self.interval)})"
            )
        return frame.tail(rows).reset_index(drop=True)

    def features_for(
        self, loaded: LoadedModel, symbol: str, as_of: datetime | None = None
    ) -> pd.DataFrame:
        """The feature rows a model needs (its window) up to the last or the `as_of` candle."""
        window = int(loaded.bundle.window)
        if as_of is None:
            frame = self.latest(FEATURES, symbol, window)
        else:
            frame = self.rows_until(FEATURES, symbol, as_of, window)
        from training_pipeline.joins import join_for_model

        frame = join_for_model(self.store, frame, loaded.bundle)  # as training joined them
        if len(frame) < window:
            until = f" up to {format_time(as_of, self.interval)}" if as_of else ""
            raise FeatureGroupNotFound(
                f"{symbol} {self.interval} has {len(frame)} feature rows{until} but model "
                f"{loaded.label} needs {window}; pick a later date or backfill more history with "
                f"`candlecast backfill --symbols {symbol} --interval {self.interval}`"
            )
        return frame

    def inputs(self, symbol: str, model: str | None = None) -> np.ndarray:
        """The exact scaled model input the next forecast uses (for checks against training)."""
        loaded = self.model(symbol, model)
        return np.asarray(loaded.bundle.inputs(self.features_for(loaded, symbol.strip().upper())))

    def freshness(self, symbol: str, spec: FeatureGroupSpec = FEATURES) -> Freshness:
        """How recent the symbol's rows in a group are."""
        return self.rows_freshness(symbol, self.latest(spec, symbol, 1))

    def rows_freshness(self, symbol: str, rows: pd.DataFrame) -> Freshness:
        """How recent rows of the symbol's series are: their newest open time against the clock."""
        last = to_datetime(rows["open_time"].max())
        return freshness_of(last, symbol=symbol, interval=self.interval, now=self.settings.clock())

    def forecast(
        self, symbol: str, days: int, model: str | None = None, as_of: datetime | None = None
    ) -> Forecast:
        """Forecast the closes of the `days` candles after the last closed one (or `as_of`).

        With `as_of`, only rows up to the candle that opened then are read: the forecast is the
        one this model would have made right after that candle closed.
        """
        days = check_days(days)
        loaded = self.model(symbol, model)
        symbol = symbol.strip().upper()
        horizon = loaded.bundle.horizon
        if days > horizon:
            raise ValidationError(
                f"model {loaded.label} forecasts at most {horizon} candles ahead; "
                f"ask for 1..{horizon} candles"
            )
        features = self.features_for(loaded, symbol, as_of)
        last = to_datetime(features["open_time"].max())
        now = last + interval_step(self.interval) if as_of else self.settings.clock()
        freshness = freshness_of(last, symbol=symbol, interval=self.interval, now=now)
        last_close = float(features["close"].iloc[-1])
        return Forecast(
            symbol=symbol,
            interval=self.interval,
            loaded=loaded,
            last_close=last_close,
            freshness=freshness,
            age=self.model_age(loaded, last),
            as_of=as_of,
            points=forecast_points(
                loaded.bundle.predict(features),
                last_close=last_close,
                last_open_time=freshness.last_open_time,
                step=interval_step(self.interval),
                days=days,
            ),
        )

    def model_age(self, loaded: LoadedModel, origin: datetime) -> ModelAge:
        """Candles between the end of the model's fitting data and the forecast's origin."""
        until = loaded.trained_until
        if until is None:
            return ModelAge(None, None, self.settings.max_model_age)
        candles = round((origin - until) / interval_step(self.interval))
        return ModelAge(until, candles, self.settings.max_model_age)

    def warm_up(self, symbols: tuple[str, ...] | None = None) -> None:
        """Load each symbol's best model and the latest version of its other models, forecasting
        once with each, so the first visitor does not wait for the store and onnxruntime.

        Meant for a background thread at server start; a failure is logged, and the same error
        reaches the user with its message on the first request.
        """
        for symbol in symbols or self.settings.symbols:
            try:
                latest = {
                    choice.rpartition(":")[0]: choice for choice in self.model_choices(symbol)[::-1]
                }
                for model in ("best", *latest.values()):
                    self.forecast(symbol, 1, model)
            except CandlecastError as error:
                logger.warning("warm-up of %s skipped: %s", symbol, error)

    def _check_symbol_stored(self, symbol: str) -> None:
        """Raise a message naming what the store holds when it lacks the symbol."""
        held = self.symbols()
        if not held:
            raise FeatureGroupNotFound(
                f"the feature store at {self.store.uri} holds no {self.interval} features yet; run "
                f"`candlecast backfill --symbols {symbol} --interval {self.interval}` first"
            )
        if symbol not in held:
            raise FeatureGroupNotFound(
                f"unknown symbol {symbol}: the store holds {self.interval} features for "
                f"{', '.join(held)}; pick one of those or run `candlecast backfill --symbols "
                f"{symbol} --interval {self.interval}`"
            )
