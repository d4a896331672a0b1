"""The model bundle: everything needed to forecast from feature rows, saved as one directory.

A bundle directory holds `bundle.json` (what the model is and what it learned from),
`model.onnx` and `model.keras` (networks only: the first is served with onnxruntime, the second
is what training can load again) and `backtest.parquet` (the walk-forward track record).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import ModelNotFound, ValidationError
from training_pipeline import baselines, direction, runtime
from training_pipeline.intervals import apply_band
from training_pipeline.scaler import Scaler
from training_pipeline.windows import has_ranges, model_inputs

logger = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.json"
MODEL_FILE = "model.keras"
ONNX_FILE = "model.onnx"
BACKTEST_FILE = "backtest.parquet"
BASELINE_KINDS = ("persistence", "garch")
NETWORK_KINDS = ("mlp", "lstm")
BUNDLE_KINDS = (*BASELINE_KINDS, *NETWORK_KINDS)
FORECAST_COLUMNS = ("horizon", "low", "median", "high")
# Log quantiles of each future candle's high and low relative to the last close, then P(up);
# `predict` adds them where the bundle forecasts them (bundles saved before do not).
CANDLE_COLUMNS = ("high_q10", "high_median", "high_q90", "low_q10", "low_median", "low_q90")
# 2: baselines with history-based bands (empirical quantiles, GARCH), four periods, refits.
# 3: networks carry model.onnx and are served from it.
BUNDLE_FORMAT = 3


def model_name(symbol: str, interval: str, kind: str) -> str:
    """The registry name of a model: `{symbol}-{interval}-{kind}`, lower-case."""
    return f"{symbol}-{interval}-{kind}".lower()


@dataclass
class ModelBundle:
    """A forecaster with its preprocessing; `predict` gives log-return quantiles.

    Baselines (`persistence`: no change with the empirical-quantile band; `garch`: no change with
    the GARCH band) forecast from the closes of their `window` rows, with the numbers in
    `baseline` (`training_pipeline.baselines`). Networks (`mlp`, `lstm`) forecast from scaled
    feature windows; their `band` is the 80% interval calibrated on the fitting data's inner
    validation (`training_pipeline.intervals`): per horizon, a `width` in multiples of a scale
    known at the origin (`scale_by`). `shrink` holds per-horizon factors in [0, 1] that pull a
    network's forecast towards persistence (1 = the raw network, 0 = the random walk).
    `mase_scale` is the fitting data's mean absolute one-candle change of the close.
    `candle` describes the forecast of each future candle's high and low (`candle_rows`) and
    `direction` the calibrated up/down probability (`p_up_rows`); both are empty in bundles
    saved before they existed, which then forecast neither.
    """

    kind: str
    symbol: str
    interval: str
    feature_columns: tuple[str, ...]
    window: int
    horizon: int
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    scaler: Scaler | None = None
    target_scale: tuple[float, ...] | None = None
    band: dict[str, Any] = field(default_factory=dict)
    shrink: tuple[float, ...] | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    mase_scale: float | None = None
    feature_group: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    candle: dict[str, Any] = field(default_factory=dict)
    direction: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _model: Any = field(default=None, repr=False, compare=False)
    _forecast_fn: Any = field(default=None, repr=False, compare=False)
    _backtest: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in BUNDLE_KINDS:
            raise ValidationError(
                f"bundle kind {self.kind!r} is unknown; use one of {BUNDLE_KINDS}"
            )
        self.feature_columns = tuple(self.feature_columns)
        self.quantiles = tuple(self.quantiles)

    @property
    def name(self) -> str:
        return model_name(self.symbol, self.interval, self.kind)

    @property
    def horizons(self) -> tuple[int, ...]:
        return tuple(range(1, self.horizon + 1))

    @property
    def is_baseline(self) -> bool:
        return self.kind in BASELINE_KINDS

    # -- forecasting ---------------------------------------------------------------------------

    def forecast_rows(
        self, features: pd.DataFrame, origins: np.ndarray | None = None
    ) -> np.ndarray:
        """Log-return quantiles at the last row (or `origins`) of one series' feature rows.

        Shape (n, horizon, 3) as (low, median, high). The one entry point of the backtest,
        the evaluation on any period and the app: each origin sees rows up to itself only.
        """
        if not self.is_baseline:
            return self.forecast(self.inputs(features, origins))
        if len(features) < self.window:
            raise ValidationError(
                f"{len(features)} feature rows given but {self.name} needs the last "
                f"{self.window}; read more rows of the series"
            )
        close = features["close"].to_numpy(dtype=np.float64)
        if not (np.all(np.isfinite(close)) and np.all(close > 0)):
            raise ValidationError("feature rows hold a close that is not a positive number")
        origins = np.array([len(close) - 1]) if origins is None else np.asarray(origins)
        log_close = np.log(close)
        if self.kind == "persistence":
            return baselines.empirical_band(
                log_close, origins, self.horizon, self.baseline["trail"]
            )
        params = baselines.GarchParams(**self.baseline["params"])
        return baselines.garch_band(
            log_close, origins, params, self.baseline["widths"], self.baseline["span"]
        )

    def candle_rows(
        self, features: pd.DataFrame, origins: np.ndarray | None = None
    ) -> np.ndarray | None:
        """(n, horizon, 2, 3) log quantiles of each future candle's high and low over the close.

        [..., 0, :] is log(high[t+h] / close[t]), [..., 1, :] log(low[t+h] / close[t]), as
        (0.1, 0.5, 0.9). Networks: the high/low head. Baselines: the trailing empirical quantiles
        when the rows carry high and low (training, evaluation), else the ones frozen at the
        bundle's fit (serving reads feature rows only). None when the bundle has no such forecast.
        """
        if not self.candle:
            return None
        origins = _origins(features, origins)
        if self.is_baseline:
            if has_ranges(features):
                from training_pipeline.candle_range import empirical_range

                return empirical_range(features, origins, self.horizon, self.candle["trail"])
            frozen = np.asarray(self.candle["quantiles"], dtype=np.float64)
            return np.broadcast_to(frozen, (len(origins), *frozen.shape)).copy()
        raw = self._outputs(self.inputs(features, origins))
        if raw.shape[-1] < 9:
            return None
        centre = np.asarray(self.candle["centre"], dtype=np.float64)[None, :, :, None]
        spread = np.asarray(self.candle["spread"], dtype=np.float64)[None, :, :, None]
        return raw[..., 3:9].reshape(len(raw), self.horizon, 2, 3) * spread + centre

    def p_up_rows(
        self,
        features: pd.DataFrame,
        origins: np.ndarray | None = None,
        forecast: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """(n, horizon) calibrated P(close[t+h] > close[t]); None without a calibration.

        `forecast` may pass this bundle's `forecast_rows` at the same origins to save a call.
        """
        if not self.direction:
            return None
        origins = _origins(features, origins)
        if self.direction["source"] == "trailing":
            log_close = np.log(features["close"].to_numpy(dtype=np.float64))
            raw = direction.trailing_up(log_close, origins, self.horizon, self.baseline["trail"])
        else:
            forecast = self.forecast_rows(features, origins) if forecast is None else forecast
            raw = direction.quantile_up(forecast)
        return direction.calibrated(raw, self.direction)

    def outlook(self, features: pd.DataFrame, origins: np.ndarray | None = None) -> Outlook:
        """The close quantiles, the high/low quantiles and P(up) at the same origins."""
        close = self.forecast_rows(features, origins)
        return Outlook(
            close,
            self.candle_rows(features, origins),
            self.p_up_rows(features, origins, forecast=close),
        )

    def inputs(self, features: pd.DataFrame, origins: np.ndarray | None = None) -> np.ndarray:
        """A network's exact scaled input for the last row (or `origins`): (n, window, features)."""
        return model_inputs(
            features,
            columns=self.feature_columns,
            scaler=self.scaler,
            window=self.window,
            origins=origins,
        )

    def forecast(self, inputs: np.ndarray) -> np.ndarray:
        """A network's log-return quantiles for its inputs: (n, horizon, 3) low, median, high."""
        out = self.raw_forecast(inputs)
        if self.band:
            out = apply_band(out, self.band, self.origin_values(inputs, self.band.get("scale_by")))
        # Networks are monotone by construction; this guarantees low <= median <= high
        # whatever a band or float round-off says.
        out[..., 0] = np.minimum(out[..., 0], out[..., 1])
        out[..., 2] = np.maximum(out[..., 2], out[..., 1])
        return out

    def raw_forecast(self, inputs: np.ndarray) -> np.ndarray:
        """A network's forecast before the calibrated band, shrunk towards persistence."""
        if self.is_baseline:
            raise ValidationError(f"{self.name} is a baseline: forecast it with forecast_rows")
        # A network with a high/low head outputs 9 values per horizon; the close's come first.
        raw = self._outputs(inputs)[..., :3]
        out = raw * np.asarray(self.target_scale)[None, :, None]
        if self.shrink is not None:
            out += ((np.asarray(self.shrink) - 1.0) * out[..., 1])[..., None]
        return out

    def _outputs(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self._forecaster()(np.asarray(inputs, dtype=np.float32)), np.float64)

    def origin_values(self, inputs: np.ndarray, column: str | None) -> np.ndarray | None:
        """Feature `column` of each input's last (origin) row, unscaled; None if not a feature."""
        if column not in self.feature_columns:
            return None
        j = self.feature_columns.index(column)
        values = np.asarray(inputs, dtype=np.float64)[:, -1, j]
        if self.scaler is not None:
            values = values * self.scaler.scale[j] + self.scaler.mean[j]
        return values

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Forecast from the latest rows of one series (oldest first, at least `window` rows).

        One row per horizon 1..H: `low`, `median`, `high` are cumulative log returns of the close
        from the last row's close (quantiles 0.1 / 0.5 / 0.9). Where the bundle forecasts them,
        CANDLE_COLUMNS hold the log quantiles of that candle's high and low over the last close
        and `p_up` the calibrated probability that its close is above the last close.
        """
        outlook = self.outlook(features)
        out = outlook.close[0]
        values = (np.arange(1, self.horizon + 1), out[:, 0], out[:, 1], out[:, 2])
        frame = pd.DataFrame(dict(zip(FORECAST_COLUMNS, values, strict=True)))
        if outlook.candle is not None:
            quantiles = outlook.candle[0].reshape(self.horizon, 6)
            for j, column in enumerate(CANDLE_COLUMNS):
                frame[column] = quantiles[:, j]
        if outlook.p_up is not None:
            frame["p_up"] = outlook.p_up[0]
        return frame

    def backtest(self) -> pd.DataFrame:
        """The walk-forward predictions over the test period (empty frame if none were saved)."""
        stored = self.path / BACKTEST_FILE if self.path is not None else None
        if self._backtest is None and stored is not None and stored.exists():
            self._backtest = pd.read_parquet(stored)
        return self._backtest if self._backtest is not None else pd.DataFrame()

    def with_model(self, model: Any) -> ModelBundle:
        """A copy that forecasts with an in-memory Keras model (used right after training)."""
        return replace(self, _model=model, _forecast_fn=None)

    def with_backtest(self, frame: pd.DataFrame) -> ModelBundle:
        return replace(self, _backtest=frame)

    def with_metrics(self, metrics: dict[str, float]) -> ModelBundle:
        return replace(self, metrics={**self.metrics, **metrics})

    def _forecaster(self) -> Any:
        """ONNX Runtime for a saved bundle; the in-memory Keras model right after training."""
        if self._forecast_fn is None:
            if self._model is not None:
                self._forecast_fn = runtime.keras_forecaster(self._model)
            elif self.path is not None:
                self._forecast_fn = runtime.onnx_forecaster(self.path / ONNX_FILE)
            else:
                raise ModelNotFound(f"bundle {self.name} has no model; train it again")
        return self._forecast_fn

    def _keras_model(self) -> Any:
        if self._model is None:
            if self.path is None or not (self.path / MODEL_FILE).exists():
                raise ModelNotFound(
                    f"bundle {self.name} has no {MODEL_FILE}; "
                    "train it again with `candlecast train`"
                )
            import keras

            import training_pipeline.models  # noqa: F401  (registers the custom layer)

            self._model = keras.saving.load_model(self.path / MODEL_FILE, compile=False)
        return self._model

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        """Write bundle.json, model.onnx + model.keras (networks) and backtest.parquet (if any).

        Saving a network needs the train extra: the ONNX file is exported from the Keras model
        and checked against it here.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if not self.is_baseline:
            model = self._keras_model()
            self.notes["onnx"] = runtime.export_onnx(model, path / ONNX_FILE)
            model.save(path / MODEL_FILE)
        (path / BUNDLE_FILE).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        backtest = self.backtest()
        if not backtest.empty:
            backtest.to_parquet(path / BACKTEST_FILE, index=False)
        return path

    @classmethod
    def load(cls, path: Path | str) -> ModelBundle:
        """Read a bundle directory written by `save` (the network's runtime loads on first use)."""
        path = Path(path)
        if not (path / BUNDLE_FILE).exists():
            raise ModelNotFound(
                f"{path} holds no {BUNDLE_FILE}; pass a registered model's directory "
                "(see `candlecast evaluate`)"
            )
        data = json.loads((path / BUNDLE_FILE).read_text())
        if data.get("format", 1) != BUNDLE_FORMAT:
            raise ModelNotFound(
                f"{path} holds a bundle of an older format ({data.get('format', 1)}, this version "
                f"reads {BUNDLE_FORMAT}); retrain it with `candlecast train`"
            )
        return cls.from_dict(data, path=path)

    def to_dict(self) -> dict[str, Any]:
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not f.name.startswith("_") and f.name != "path"
        }
        data.update(
            format=BUNDLE_FORMAT,
            name=self.name,
            horizons=list(self.horizons),
            feature_columns=list(self.feature_columns),
            quantiles=list(self.quantiles),
            scaler=self.scaler.to_dict() if self.scaler else None,
            target_scale=list(self.target_scale) if self.target_scale else None,
            shrink=list(self.shrink) if self.shrink is not None else None,
        )
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: Path | None = None) -> ModelBundle:
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")} - {"path"}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["scaler"] = Scaler.from_dict(data["scaler"]) if data.get("scaler") else None
        for key in ("target_scale", "shrink"):
            if data.get(key) is not None:
                kwargs[key] = tuple(data[key])
        return cls(**kwargs, path=path)


@dataclass(frozen=True)
class Outlook:
    """Everything a bundle forecasts at a set of origins (None: the bundle does not forecast it)."""

    close: np.ndarray  # (n, horizon, 3) log-return quantiles of the close
    candle: np.ndarray | None  # (n, horizon, 2, 3) log quantiles of the high and low
    p_up: np.ndarray | None  # (n, horizon) calibrated P(close[t+h] > close[t])


def _origins(features: pd.DataFrame, origins: np.ndarray | None) -> np.ndarray:
    return np.array([len(features) - 1]) if origins is None else np.asarray(origins)


def untrained_baseline(
    symbol: str, interval: str, *, horizon: int = 30, trail: int = baselines.TRAIL
) -> ModelBundle:
    """No change with the empirical band of the last `trail` moves: needs no training."""
    from feature_pipeline.groups import FEATURE_COLUMNS

    return ModelBundle(
        kind="persistence",
        symbol=symbol,
        interval=interval,
        feature_columns=FEATURE_COLUMNS,
        window=baselines.empirical_rows(horizon, trail),
        horizon=horizon,
        baseline={"trail": trail},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
