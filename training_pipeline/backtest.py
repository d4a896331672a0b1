"""Walk-forward evaluation: forecasts at every origin against persistence and drift baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training_pipeline import metrics as m
from training_pipeline.bundle import ModelBundle
from training_pipeline.config import EVAL_HORIZONS
from training_pipeline.data import FeatureView

SELECTION_HORIZONS = tuple(range(1, 8))
BACKTEST_COLUMNS = (
    "origin_time",
    "horizon",
    "origin_close",
    "actual",
    "low",
    "median",
    "high",
    "persistence",
    "persistence_low",
    "persistence_high",
    "drift",
)


def walk_forward(
    bundle: ModelBundle,
    persistence: ModelBundle,
    view: FeatureView,
    origins: np.ndarray,
) -> pd.DataFrame:
    """One row per (origin, horizon): actual close, the model's and the baselines' forecasts.

    Every forecast at an origin is built from feature rows up to that origin only; the model
    itself is frozen (it saw nothing after its training split).
    """
    origins = np.asarray(origins)
    horizon = bundle.horizon
    close = view.close
    base = close[origins][:, None]
    steps = np.arange(1, horizon + 1)
    model = base[..., None] * np.exp(bundle.forecast(bundle.inputs(view.frame, origins)))
    naive = base[..., None] * np.exp(persistence.forecast(persistence.inputs(view.frame, origins)))
    frame = pd.DataFrame(
        {
            "origin_time": np.repeat(view.open_time.to_numpy()[origins], horizon),
            "horizon": np.tile(steps, len(origins)),
            "origin_close": np.repeat(close[origins], horizon),
            "actual": close[origins[:, None] + steps[None, :]].ravel(),
            "low": model[..., 0].ravel(),
            "median": model[..., 1].ravel(),
            "high": model[..., 2].ravel(),
            "persistence": naive[..., 1].ravel(),
            "persistence_low": naive[..., 0].ravel(),
            "persistence_high": naive[..., 2].ravel(),
            "drift": (base * np.exp(drift_returns(close, origins)[:, None] * steps)).ravel(),
        }
    )
    frame["origin_time"] = pd.to_datetime(frame["origin_time"], utc=True)
    return frame[list(BACKTEST_COLUMNS)]


def drift_returns(close: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """The drift baseline's per-candle log return at each origin: the mean of all earlier ones."""
    log_close = np.log(close)
    origins = np.asarray(origins)
    return np.where(origins > 0, (log_close[origins] - log_close[0]) / np.maximum(origins, 1), 0.0)


def score(frame: pd.DataFrame, horizons: tuple[int, ...] = EVAL_HORIZONS) -> dict[str, float]:
    """Per-horizon metrics of the model (`mae_h1` ...) and baselines (`persistence_mae_h1` ...)."""
    scale = _one_step_scale(frame)
    out: dict[str, float] = {}
    for h in horizons:
        rows = frame[frame["horizon"] == h]
        if rows.empty:
            continue
        actual, origin = rows["actual"].to_numpy(), rows["origin_close"].to_numpy()
        out.update(_point(rows["median"].to_numpy(), actual, origin, scale, h, ""))
        out.update(_point(rows["persistence"].to_numpy(), actual, origin, scale, h, "persistence_"))
        out.update(_point(rows["drift"].to_numpy(), actual, origin, scale, h, "drift_"))
        out.update(_interval(rows, "low", "high", h, ""))
        out.update(_interval(rows, "persistence_low", "persistence_high", h, "persistence_"))
        out[f"mae_ratio_h{h}"] = out[f"mae_h{h}"] / out[f"persistence_mae_h{h}"]
        out[f"drift_mae_ratio_h{h}"] = out[f"drift_mae_h{h}"] / out[f"persistence_mae_h{h}"]
        out[f"up_share_h{h}"] = float(np.mean(actual > origin))
        model_errors = rows["median"].to_numpy() - actual
        naive_errors = rows["persistence"].to_numpy() - actual
        out[f"dm_p_h{h}"] = m.diebold_mariano(model_errors, naive_errors, h)
    out["origins"] = float(frame["origin_time"].nunique())
    return out


def selection_score(frame: pd.DataFrame) -> float:
    """Mean over h = 1..7 of model MAE / persistence MAE: the model-selection metric."""
    ratios = []
    for h in SELECTION_HORIZONS:
        rows = frame[frame["horizon"] == h]
        actual = rows["actual"].to_numpy()
        ratios.append(
            m.mae(actual, rows["median"].to_numpy()) / m.mae(actual, rows["persistence"].to_numpy())
        )
    return float(np.mean(ratios))


def _point(
    forecast: np.ndarray, actual: np.ndarray, origin: np.ndarray, scale: float, h: int, prefix: str
) -> dict[str, float]:
    da, da_low, da_high = m.directional_accuracy(origin, actual, forecast)
    return {
        f"{prefix}mae_h{h}": m.mae(actual, forecast),
        f"{prefix}rmse_h{h}": m.rmse(actual, forecast),
        f"{prefix}mape_h{h}": m.mape(actual, forecast),
        f"{prefix}mase_h{h}": m.mase(actual, forecast, scale),
        f"{prefix}da_h{h}": da,
        f"{prefix}da_low_h{h}": da_low,
        f"{prefix}da_high_h{h}": da_high,
    }


def _interval(rows: pd.DataFrame, low: str, high: str, h: int, prefix: str) -> dict[str, float]:
    actual, lo, hi = rows["actual"].to_numpy(), rows[low].to_numpy(), rows[high].to_numpy()
    return {
        f"{prefix}coverage80_h{h}": m.coverage(actual, lo, hi),
        f"{prefix}width80_h{h}": m.mean_width(lo, hi),
    }


def _one_step_scale(frame: pd.DataFrame) -> float:
    """MASE's scale: the mean absolute one-candle change of the close over the evaluated origins."""
    closes = frame.drop_duplicates("origin_time")["origin_close"].to_numpy()
    return float(np.mean(np.abs(np.diff(closes)))) if len(closes) > 1 else float("nan")
