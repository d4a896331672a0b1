"""The Forecaster: latest features + a registered model -> the next N closes, 80% intervals."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
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
from candlecast.settings import Settings, check_symbol
from feature_pipeline.groups import FEATURES
from feature_pipeline.klines import interval_step
from feature_store.base import FeatureGroupSpec, FeatureStore, ModelRegistry, ModelVersion
from inference_app.freshness import Freshness, format_time, freshness_of, to_datetime
from inference_app.models import RELOAD_EVERY, LoadedModel, ModelLoader, parse_model_choice

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

MAX_DAYS = 30


@dataclass(frozen=True)
class ForecastPoint:
    """One horizon: the candle's open time, the median and the 80% interval of its close."""

    horizon: int
    date: datetime
    median: float
    low: float
    high: float
    change: float  # median / last close - 1


@dataclass(frozen=True)
class Forecast:
    """A forecast of the candles after the last closed one, with its model and data."""

    symbol: str
    interval: str
    model: ModelVersion
    kind: str
    last_close: float
    freshness: Freshness
    points: tuple[ForecastPoint, ...]

    @property
    def data_through(self) -> str:
        return self.freshness.data_through

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope of `candlecast forecast --json` and of the app's /forecast endpoint."""
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "model": {"name": self.model.name, "version": self.model.version, "kind": self.kind},
            "data_through": self.data_through,
            "last_close": self.last_close,
            "stale": self.freshness.stale,
            "warning": self.freshness.warning(),
            "forecast": [
                {
                    "date": format_time(p.date, self.interval),
                    "horizon": p.horizon,
                    "median": p.median,
                    "low": p.low,
                    "high": p.high,
                    "change": p.change,
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
            )
        )
    return tuple(points)


def check_days(days: float | int | None, limit: int = MAX_DAYS) -> int:
    """Days ahead as an int in 1..limit, or a ValidationError that says so."""
    if days is None or isinstance(days, bool) or not float(days).is_integer():
        raise ValidationError(f"days ahead must be a whole number from 1 to {limit}, got {days!r}")
    if not 1 <= int(days) <= limit:
        raise ValidationError(f"days ahead must be between 1 and {limit}, got {int(days)}")
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

    @property
    def store(self) -> FeatureStore:
        if self._store is None:
            from feature_store import open_store

            self._store = open_store(self.settings)
        return self._store

    @property
    def models(self) -> ModelLoader:
        if self._models is None:
            if self._registry is None:
                from feature_store import open_registry

                self._registry = open_registry(self.settings)
            extra = {"loader": self._loader} if self._loader else {}
            self._models = ModelLoader(self._registry, reload_every=self._reload_every, **extra)
        return self._models

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

    def features_for(self, loaded: LoadedModel, symbol: str) -> pd.DataFrame:
        """The latest feature rows a model needs (its window), oldest first."""
        window = int(loaded.bundle.window)
        frame = self.latest(FEATURES, symbol, window)
        if len(frame) < window:
            raise FeatureGroupNotFound(
                f"{symbol} {self.interval} has {len(frame)} feature rows but model "
                f"{loaded.label} needs {window}; backfill more history with `candlecast backfill "
                f"--symbols {symbol} --interval {self.interval}`"
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

    def forecast(self, symbol: str, days: int, model: str | None = None) -> Forecast:
        """Forecast the closes of the `days` candles after the last closed one."""
        days = check_days(days)
        loaded = self.model(symbol, model)
        symbol = symbol.strip().upper()
        horizon = loaded.bundle.horizon
        if days > horizon:
            raise ValidationError(
                f"model {loaded.label} forecasts at most {horizon} candles ahead; "
                f"ask for 1..{horizon} days"
            )
        features = self.features_for(loaded, symbol)
        freshness = self.rows_freshness(symbol, features)
        last_close = float(features["close"].iloc[-1])
        return Forecast(
            symbol=symbol,
            interval=self.interval,
            model=loaded.version,
            kind=str(loaded.bundle.kind),
            last_close=last_close,
            freshness=freshness,
            points=forecast_points(
                loaded.bundle.predict(features),
                last_close=last_close,
                last_open_time=freshness.last_open_time,
                step=interval_step(self.interval),
                days=days,
            ),
        )

    def warm_up(self, symbols: tuple[str, ...] | None = None) -> None:
        """Load each symbol's best model and the latest version of its other models, forecasting
        once with each, so the first visitor does not wait for TensorFlow.

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
