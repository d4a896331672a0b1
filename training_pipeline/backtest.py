"""Walk-forward evaluation: forecasts at every origin next to the baselines', and their scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training_pipeline import baselines, direction
from training_pipeline import metrics as m
from training_pipeline.config import EVAL_HORIZONS
from training_pipeline.feature_view import FeatureView

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
    "garch_low",
    "garch_high",
    "drift",
)
# Interval forecasts scored per horizon: the model's (''), then each baseline band's.
BAND_PREFIXES = ("", "persistence_", "garch_")


@dataclass(frozen=True)
class Baselines:
    """The baselines' log-return quantiles (n, horizon, 3) at a set of origins."""

    origins: np.ndarray
    empirical: np.ndarray
    garch: np.ndarray


def baseline_forecasts(
    view: FeatureView,
    origins: np.ndarray,
    horizon: int,
    *,
    trail: int = baselines.TRAIL,
    span: int = baselines.GARCH_SPAN,
    refit_every: int = baselines.GARCH_REFIT_EVERY,
) -> Baselines:
    """Both baselines as a user would run them: the GARCH refitted every `refit_every` origins."""
    log_close = np.log(view.close)
    origins = np.asarray(origins, dtype=np.int64)
    return Baselines(
        origins=origins,
        empirical=baselines.empirical_band(log_close, origins, horizon, trail),
        garch=baselines.garch_walk_forward(
            log_close, origins, horizon, refit_every=refit_every, trail=trail, span=span
        ),
    )


def walk_forward(
    view: FeatureView, origins: np.ndarray, forecast: np.ndarray, base: Baselines
) -> pd.DataFrame:
    """One row per (origin, horizon): the actual close, the model's and the baselines' forecasts.

    `forecast` holds the model's log-return quantiles at `origins` (n, horizon, 3), each built
    from feature rows up to its origin only (`ModelBundle.forecast_rows`).
    """
    origins = np.asarray(origins)
    if not np.array_equal(origins, base.origins):
        raise ValueError("the model and the baselines must be forecast at the same origins")
    horizon = forecast.shape[1]
    close = view.close
    base_close = close[origins][:, None, None]
    steps = np.arange(1, horizon + 1)
    model = base_close * np.exp(forecast)
    empirical = base_close * np.exp(base.empirical)
    garch = base_close * np.exp(base.garch)
    drift = close[origins][:, None] * np.exp(drift_returns(close, origins)[:, None] * steps)
    frame = pd.DataFrame(
        {
            "origin_time": np.repeat(view.open_time.to_numpy()[origins], horizon),
            "horizon": np.tile(steps, len(origins)),
            "origin_close": np.repeat(close[origins], horizon),
            "actual": close[origins[:, None] + steps[None, :]].ravel(),
            "low": model[..., 0].ravel(),
            "median": model[..., 1].ravel(),
            "high": model[..., 2].ravel(),
            "persistence": np.repeat(close[origins], horizon),
            "persistence_low": empirical[..., 0].ravel(),
            "persistence_high": empirical[..., 2].ravel(),
            "garch_low": garch[..., 0].ravel(),
            "garch_high": garch[..., 2].ravel(),
            "drift": drift.ravel(),
        }
    )
    frame["origin_time"] = pd.to_datetime(frame["origin_time"], utc=True)
    return frame[list(BACKTEST_COLUMNS)]


def drift_returns(close: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """The drift baseline's per-candle log return at each origin: the mean of all earlier ones."""
    log_close = np.log(close)
    origins = np.asarray(origins)
    return np.where(origins > 0, (log_close[origins] - log_close[0]) / np.maximum(origins, 1), 0.0)


def band_columns(prefix: str) -> tuple[str, str, str]:
    """(low, median, high) columns of the model ('') or of a baseline band ('garch_' ...)."""
    if prefix == "":
        return "low", "median", "high"
    return f"{prefix}low", "persistence", f"{prefix}high"


def score(
    frame: pd.DataFrame,
    horizons: tuple[int, ...] = EVAL_HORIZONS,
    *,
    mase_scale: float = float("nan"),
) -> dict[str, float]:
    """Per-horizon metrics of the model (`mae_h1` ...) and the baselines (`persistence_mae_h1`).

    Point errors for the model, persistence and drift; interval coverage (with its 95% interval
    over overlapping windows), width, interval score and pinball loss for the model's band and
    both baseline bands; ratios against persistence (point) and its empirical band (interval).
    """
    out: dict[str, float] = {}
    for h in horizons:
        rows = frame[frame["horizon"] == h]
        if rows.empty:
            continue
        actual, origin = rows["actual"].to_numpy(), rows["origin_close"].to_numpy()
        for prefix, column in (
            ("", "median"),
            ("persistence_", "persistence"),
            ("drift_", "drift"),
        ):
            out.update(_point(rows[column].to_numpy(), actual, origin, mase_scale, h, prefix))
        for prefix in BAND_PREFIXES:
            out.update(_interval(rows, band_columns(prefix), h, prefix))
        persistence_mae = out[f"persistence_mae_h{h}"]
        out[f"mae_ratio_h{h}"] = out[f"mae_h{h}"] / persistence_mae
        out[f"drift_mae_ratio_h{h}"] = out[f"drift_mae_h{h}"] / persistence_mae
        out[f"winkler_ratio_h{h}"] = out[f"winkler_h{h}"] / out[f"persistence_winkler_h{h}"]
        out[f"garch_winkler_ratio_h{h}"] = (
            out[f"garch_winkler_h{h}"] / out[f"persistence_winkler_h{h}"]
        )
        out[f"up_share_h{h}"] = float(np.mean(actual > origin))
        out[f"dm_p_h{h}"] = m.diebold_mariano(
            rows["median"].to_numpy() - actual, rows["persistence"].to_numpy() - actual, h
        )
    out["origins"] = float(frame["origin_time"].nunique())
    return out


def ratios(frame: pd.DataFrame, reference: str = "persistence_") -> pd.DataFrame:
    """Per horizon 1..H: the model's MAE and interval score relative to a baseline band's.

    The baselines' medians are the last close, so their point error is persistence's.
    """
    rows = []
    for h, group in frame.groupby("horizon", sort=True):
        actual = group["actual"].to_numpy()
        low, _, high = band_columns(reference)
        rows.append(
            {
                "horizon": int(h),
                "mae_ratio": m.mae(actual, group["median"].to_numpy())
                / m.mae(actual, group["persistence"].to_numpy()),
                "winkler_ratio": m.winkler(actual, group["low"], group["high"])
                / m.winkler(actual, group[low], group[high]),
            }
        )
    return pd.DataFrame(rows)


def _point(
    forecast: np.ndarray, actual: np.ndarray, origin: np.ndarray, scale: float, h: int, prefix: str
) -> dict[str, float]:
    da, da_low, da_high = m.directional_accuracy(origin, actual, forecast, h)
    return {
        f"{prefix}mae_h{h}": m.mae(actual, forecast),
        f"{prefix}rmse_h{h}": m.rmse(actual, forecast),
        f"{prefix}mape_h{h}": m.mape(actual, forecast),
        f"{prefix}mase_h{h}": m.mase(actual, forecast, scale),
        f"{prefix}da_h{h}": da,
        f"{prefix}da_low_h{h}": da_low,
        f"{prefix}da_high_h{h}": da_high,
    }


def _interval(
    rows: pd.DataFrame, columns: tuple[str, str, str], h: int, prefix: str
) -> dict[str, float]:
    actual = rows["actual"].to_numpy()
    low, median, high = (rows[c].to_numpy() for c in columns)
    covered = m.inside(actual, low, high)
    cover_low, cover_high = m.proportion_interval(covered, h)
    return {
        f"{prefix}coverage80_h{h}": float(covered.mean()),
        f"{prefix}coverage80_low_h{h}": cover_low,
        f"{prefix}coverage80_high_h{h}": cover_high,
        f"{prefix}width80_h{h}": m.mean_width(low, high),
        f"{prefix}winkler_h{h}": m.winkler(actual, low, high),
        f"{prefix}pinball_h{h}": m.pinball(actual, {0.1: low, 0.5: median, 0.9: high}),
    }


def outlook_scores(
    frame: pd.DataFrame,
    origins: np.ndarray,
    *,
    labels: np.ndarray,
    candle: np.ndarray | None,
    p_up: np.ndarray | None,
    base_rate: np.ndarray | None,
    forest: np.ndarray | None = None,
    horizons: tuple[int, ...] = EVAL_HORIZONS,
) -> tuple[dict[str, float], dict[str, list[dict[str, float]]]]:
    """High/low and P(up) scores per horizon on the origins the close was scored on.

    `frame` is the series' rows (with `high` / `low` for the high/low scores); `labels` the
    (rows, horizon) future log returns; `base_rate` the fitting data's up-rate (climatology);
    `forest` the random forest's P(up) at the origins, one column per horizon in `horizons`.
    Returns the metrics and the reliability tables; anything missing is left out.
    """
    from training_pipeline.candle_range import range_scores

    out: dict[str, float] = {}
    tables: dict[str, list[dict[str, float]]] = {}
    origins = np.asarray(origins, dtype=np.int64)
    if candle is not None and {"high", "low"} <= set(frame.columns):
        out.update(range_scores(frame, origins, candle, horizons))
    if p_up is not None and base_rate is not None:
        up = np.asarray(labels)[origins] > 0
        scores, tables = direction.direction_scores(p_up, up, base_rate, horizons, forest)
        out.update(scores)
    return out, tables
