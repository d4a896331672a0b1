"""The prediction log: each model's forecasts from each origin, written as they are made.

Per series the log holds the served model and the baselines it is judged against (no change
with the empirical band, and with the GARCH band), h = 1..30 from every origin. A run logs the
origins after the newest one it finds for each model, so a missed day is caught up by the next
run; each forecast is made as of its origin, and is `live` only when made within one interval
of the origin candle's close. Logged rows are facts: a write inserts keys the log lacks and
never rewrites one, so running again, or a second replay of the same days, changes nothing.
The served model's band adapts to its scored outcomes (`daily_pipeline.adaptive`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from candlecast.errors import ModelNotFound
from candlecast.intervals import interval_step, last_closed_open
from daily_pipeline.adaptive import ADAPTED, adapt, conformity, scaled_band
from daily_pipeline.groups import HINDCAST, LIVE, PREDICTIONS
from daily_pipeline.scoring import score
from feature_pipeline.groups import FEATURES
from feature_pipeline.sync import read_or_empty
from feature_store.base import FeatureStore, ModelRegistry, served_version
from training_pipeline.bundle import BASELINE_KINDS, ModelBundle, model_name, untrained_baseline
from training_pipeline.joins import join_for_model

logger = logging.getLogger(__name__)

MAX_HORIZON = 30
PERSISTENCE = "persistence"  # the bundle kind every logged model is compared with


@dataclass(frozen=True)
class LoggedModel:
    """A model whose forecasts are logged: its registry name and version, and its bundle."""

    name: str
    version: int
    bundle: ModelBundle
    served: bool

    @property
    def trained_until(self) -> pd.Timestamp | None:
        """The last candle the model's fitted parameters saw (none for no change with the
        empirical band: its band is the trailing moves at each origin, nothing is fitted)."""
        if self.bundle.kind == PERSISTENCE:
            return None
        value = self.bundle.data.get("trained_until")
        return pd.Timestamp(value).tz_convert("UTC") if value else None

    @property
    def horizon(self) -> int:
        return min(int(self.bundle.horizon), MAX_HORIZON)


def logged_models(registry: ModelRegistry, symbol: str, interval: str) -> list[LoggedModel]:
    """The served model of a series, then the baselines' newest versions (no change with the
    empirical band of past moves when the series has no trained model)."""
    try:
        served = served_version(registry, symbol, interval)
        models = [LoggedModel(served.name, served.version, _load(served.path), served=True)]
    except ModelNotFound:
        models = [LoggedModel(*_untrained(symbol, interval), served=True)]
    for kind in BASELINE_KINDS:
        name = model_name(symbol, interval, kind)
        if any(m.name == name for m in models):
            continue
        try:
            version = registry.get(name)
        except ModelNotFound:
            if kind == PERSISTENCE:
                models.append(LoggedModel(*_untrained(symbol, interval), served=False))
            continue
        models.append(LoggedModel(name, version.version, _load(version.path), served=False))
    return models


def log_forecasts(
    store: FeatureStore,
    models: list[LoggedModel],
    symbol: str,
    interval: str,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: str | None = None,
) -> int:
    """Log each model's forecasts from the origins it has not logged yet; the rows written.

    Origins are the feature rows of candles closed by `now`. Without `start`, those after each
    model's newest logged one (only the newest stored
    candle for a model with none logged). With `start`, every origin from `start` to `end` that
    the model has not logged. `kind` forces the kind (`hindcast`); by default it follows from
    how long after the origin's close the forecast is made.
    """
    closed = last_closed_open(now, interval)
    features = read_or_empty(store, FEATURES, symbol=symbol, interval=interval, end=closed)
    if features.empty:
        return 0
    logged = read_or_empty(store, PREDICTIONS, symbol=symbol, interval=interval)
    frames = []
    for model in models:
        joined = join_for_model(store, features, model.bundle)  # as training joined them
        times = pd.DatetimeIndex(joined["open_time"])
        mine = logged.loc[logged["model"] == model.name]
        origins = _origins(times, pd.DatetimeIndex(mine["origin_time"].unique()), start, end)
        origins = origins[origins >= model.bundle.window - 1]
        if len(origins):
            frames.append(_forecasts(model, joined, origins, mine, now=now, kind=kind))
    if not frames:
        return 0
    rows = pd.concat(frames, ignore_index=True)
    result = store.upsert(PREDICTIONS, rows)
    written = result.inserted + result.updated
    logger.info("%s %s: %d forecast row(s) logged", symbol, interval, written)
    return written


def _origins(
    times: pd.DatetimeIndex,
    logged: pd.DatetimeIndex,
    start: datetime | None,
    end: datetime | None,
) -> np.ndarray:
    """Row positions of the origins to forecast from."""
    if start is None:
        if len(logged) == 0:
            return np.array([len(times) - 1])
        wanted = times > logged.max()
    else:
        wanted = (times >= pd.Timestamp(start)) & ~times.isin(logged)
        if end is not None:
            wanted &= times <= pd.Timestamp(end)
    return np.flatnonzero(wanted)


def _forecasts(
    model: LoggedModel,
    features: pd.DataFrame,
    origins: np.ndarray,
    logged: pd.DataFrame,
    *,
    now: datetime,
    kind: str | None,
) -> pd.DataFrame:
    """The model's log rows from the given origins: h = 1..horizon each."""
    interval = str(features["interval"].iloc[0])
    step = interval_step(interval)
    horizon = model.horizon
    quantiles = model.bundle.forecast_rows(features, origins)[:, :horizon, :]
    close = features["close"].to_numpy(dtype=np.float64)[origins]
    origin_times = pd.DatetimeIndex(features["open_time"].iloc[origins])
    prices = close[:, None, None] * np.exp(quantiles)
    n = len(origins)
    frame = pd.DataFrame(
        {
            "symbol": features["symbol"].iloc[0],
            "interval": interval,
            "model": model.name,
            "origin_time": np.repeat(origin_times, horizon),
            "horizon": np.tile(np.arange(1, horizon + 1), n),
            "version": model.version,
            "served": model.served,
            "made_at": pd.Timestamp(now),
            "trained_until": model.trained_until,
            "last_close": np.repeat(close, horizon),
            "low": prices[..., 0].ravel(),
            "median": prices[..., 1].ravel(),
            "high": prices[..., 2].ravel(),
            "band_scale": 1.0,
        }
    )
    frame["trained_until"] = frame["trained_until"].astype("datetime64[us, UTC]")  # None: NaT
    frame["target_time"] = frame["origin_time"] + frame["horizon"] * step
    if kind is None:
        live = pd.Timestamp(now) <= frame["origin_time"] + 2 * step
        frame["kind"] = np.where(live, LIVE, HINDCAST)
    else:
        frame["kind"] = kind
    if model.served:
        frame = adapted(frame, logged, features)
    return frame[list(PREDICTIONS.schema.names)]


def adapted(new: pd.DataFrame, logged: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The new rows with their band scaled by adaptive conformal inference (ADAPTED horizons)."""
    closes = pd.Series(
        features["close"].to_numpy(dtype=np.float64), index=pd.DatetimeIndex(features["open_time"])
    )
    new = new.copy()
    for h in sorted(ADAPTED & set(new["horizon"].unique())):
        fresh = new.loc[new["horizon"] == h]
        mine = logged["horizon"] == h
        prior = logged.loc[mine & ~logged["origin_time"].isin(fresh["origin_time"])]
        scales = band_scales(prior, fresh, closes)
        low, high = scaled_band(
            fresh["median"].to_numpy(), fresh["low"].to_numpy(), fresh["high"].to_numpy(), scales
        )
        new.loc[fresh.index, ["low", "high", "band_scale"]] = np.column_stack([low, high, scales])
    return new


def band_scales(prior: pd.DataFrame, fresh: pd.DataFrame, closes: pd.Series) -> np.ndarray:
    """The scale of each fresh row's band, from the outcomes known at its origin (one horizon).

    `prior` holds the logged rows (with the scale each was served with), `fresh` rows with the
    model's own band; `closes` the series' closes by open time (the actuals).
    """
    fresh = fresh.assign(band_scale=np.nan, _fresh=True)
    rows = pd.concat([prior.assign(_fresh=False), fresh]) if len(prior) else fresh
    rows = rows.sort_values("origin_time", kind="stable")
    actual = closes.reindex(pd.DatetimeIndex(rows["target_time"])).to_numpy()
    given = rows["band_scale"].to_numpy(dtype=np.float64)
    scores = conformity(
        actual,
        rows["median"].to_numpy(dtype=np.float64),
        rows["low"].to_numpy(dtype=np.float64),
        rows["high"].to_numpy(dtype=np.float64),
        np.where(np.isnan(given), 1.0, given),
    )
    filled = adapt(_nanos(rows["origin_time"]), _nanos(rows["target_time"]), scores, given)
    is_fresh = rows["_fresh"].to_numpy(dtype=bool)
    by_origin = pd.Series(filled[is_fresh], index=rows.loc[is_fresh, "origin_time"])
    return by_origin.reindex(fresh["origin_time"]).to_numpy()


def _nanos(times: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _load(path: object) -> ModelBundle:
    if path is None:
        raise ModelNotFound("a registered model has no local bundle directory; train it again")
    return ModelBundle.load(path)


def _untrained(symbol: str, interval: str) -> tuple[str, int, ModelBundle]:
    bundle = untrained_baseline(symbol, interval)
    return bundle.name, 0, bundle


def served_name(registry: ModelRegistry, symbol: str, interval: str) -> str:
    """The registry name of the model the series serves (no change when none is trained)."""
    try:
        return served_version(registry, symbol, interval).name
    except ModelNotFound:
        return model_name(symbol, interval, PERSISTENCE)


def hindcast(
    store: FeatureStore,
    registry: ModelRegistry,
    symbol: str,
    interval: str,
    *,
    now: datetime,
    start: datetime,
    end: datetime | None = None,
) -> tuple[int, int]:
    """Log the served model's and the baselines' as-of forecasts from every origin from `start`
    (to `end`) that the log lacks, as `hindcast`, and score the closed ones: (logged, scored)."""
    models = logged_models(registry, symbol, interval)
    logged = log_forecasts(
        store, models, symbol, interval, now=now, start=start, end=end, kind=HINDCAST
    )
    return logged, score(store, symbol, interval, now=now)
