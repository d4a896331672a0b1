"""Evaluation documents: a model's registered test figures, or its scores on any period.

`evaluation(version)` is the `candlecast evaluate --json` document of the registered figures.
`evaluate_period` is how a model is checked on data that arrived after it was trained: its
forecasts are
built exactly as `Forecaster.forecast(..., as_of=origin)` builds them (the bundle's
`forecast_rows` on feature rows up to each origin), and the baselines are run as a user would
run them (the GARCH band refitted every 30 origins on the data up to each refit).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError
from feature_store.base import FeatureStore, ModelVersion
from training_pipeline import baselines, direction
from training_pipeline.backtest import baseline_forecasts, outlook_scores, score, walk_forward
from training_pipeline.bundle import ModelBundle
from training_pipeline.config import EVAL_HORIZONS
from training_pipeline.feature_view import FeatureView, load_feature_view

# High/low and P(up) figures per horizon (None for models saved before they existed).
OUTLOOK_PER_HORIZON = (
    "high_mae",
    "high_range_mae",
    "high_mae_ratio",
    "high_coverage80",
    "low_mae",
    "low_range_mae",
    "low_mae_ratio",
    "low_coverage80",
    "brier",
    "climatology_brier",
    "brier_skill",
    "rf_brier",
    "brier_skill_rf",
    "base_rate",
    "p_up_mean",
    "pup_da",
    "pup_da_low",
    "pup_da_high",
)
PER_HORIZON = (
    "mae",
    "persistence_mae",
    "drift_mae",
    "mae_ratio",
    "drift_mae_ratio",
    "rmse",
    "persistence_rmse",
    "mape",
    "mase",
    "persistence_mase",
    "dm_p",
    "da",
    "da_low",
    "da_high",
    "up_share",
    "coverage80",
    "coverage80_low",
    "coverage80_high",
    "width80",
    "winkler",
    "winkler_ratio",
    "pinball",
    "persistence_coverage80",
    "persistence_width80",
    "persistence_winkler",
    "persistence_pinball",
    "garch_coverage80",
    "garch_width80",
    "garch_winkler",
    "garch_winkler_ratio",
    "garch_pinball",
    *OUTLOOK_PER_HORIZON,
)
PERIOD_NAMES = ("train", "val", "selection", "test")


def evaluation(version: ModelVersion) -> dict[str, Any]:
    """A registered model's test-period metrics per horizon, with its periods and selection."""
    meta = version.metadata
    report = metrics_report(
        version.metrics,
        period=meta.get("test_period") or [None, None],
        label="test period",
        reliability=meta.get("reliability"),
    )
    return {
        "model": version.name,
        "version": version.version,
        "kind": meta.get("kind"),
        "role": meta.get("role"),
        "symbol": meta.get("symbol"),
        "interval": meta.get("interval"),
        "trained_until": meta.get("trained_until"),
        "decision": meta.get("decision"),
        "evaluation": meta.get("evaluation"),
        "periods": {name: meta.get(f"{name}_period") for name in PERIOD_NAMES},
        "selection": {k: v for k, v in version.metrics.items() if k.startswith("sel_")},
        **report,
    }


def metrics_report(
    metrics: Mapping[str, float],
    *,
    period: list[Any],
    label: str,
    reliability: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The scored origins and per-horizon metrics of one walk-forward (any period).

    Each horizon also holds the P(up) `reliability` table (bins with counts, mean P(up) and
    observed up-rate); the high/low and P(up) figures are None for a model without them.
    """
    horizons = [h for h in EVAL_HORIZONS if f"mae_h{h}" in metrics]
    tables = reliability or {}
    return {
        "label": label,
        "period": list(period),
        "origins": int(metrics.get("origins", 0)),
        "horizons": {
            str(h): {
                **{k: metrics.get(f"{k}_h{h}") for k in PER_HORIZON},
                "reliability": tables.get(str(h)),
            }
            for h in horizons
        },
    }


def outlook_horizons(version: ModelVersion) -> dict[str, dict[str, Any]]:
    """Per horizon, a version's test-period high/low and P(up) figures and reliability table."""
    tables = version.metadata.get("reliability") or {}
    return {
        str(h): {
            **{k: version.metrics.get(f"{k}_h{h}") for k in OUTLOOK_PER_HORIZON},
            "reliability": tables.get(str(h)),
        }
        for h in EVAL_HORIZONS
        if f"mae_h{h}" in version.metrics
    }


def period_origins(
    view: FeatureView, bundle: ModelBundle, start: datetime, end: datetime | None, history: int
) -> np.ndarray:
    """Row positions of the origins in start..end whose every horizon's outcome has closed."""
    if end is not None and start > end:
        raise ValidationError(f"--from {start:%Y-%m-%d} is after --to {end:%Y-%m-%d}")
    times = view.open_time
    window = times >= start if end is None else (times >= start) & (times <= end)
    inside = np.flatnonzero(window.to_numpy())
    end = end or times.iloc[-1]
    last = len(view.frame) - 1 - bundle.horizon
    if not len(inside) or inside[0] > last:
        closed = times.iloc[last] if last >= 0 else None
        raise ValidationError(
            f"no origin in {start:%Y-%m-%d}..{end:%Y-%m-%d} has its {bundle.horizon}-candle "
            f"outcome closed yet (the last such origin is "
            f"{pd.Timestamp(closed):%Y-%m-%d}); pick an earlier period"
            if closed is not None
            else f"the series has fewer than {bundle.horizon + 1} rows"
        )
    origins = inside[inside <= last]
    if origins[0] < history:
        raise ValidationError(
            f"origins before {pd.Timestamp(times.iloc[history]):%Y-%m-%d} lack the {history} "
            f"rows of history the model and the baselines need (features start "
            f"{pd.Timestamp(times.iloc[0]):%Y-%m-%d}); pass a later --from"
        )
    return origins


def evaluate_period(
    store: FeatureStore,
    version: ModelVersion,
    bundle: ModelBundle,
    start: datetime,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The `evaluate --json` document of a registered model scored on the origins in start..end."""
    from training_pipeline.joins import joins_of

    view = load_feature_view(store, bundle.symbol, bundle.interval, joins=joins_of(bundle.data))
    trail = int(bundle.data.get("trail", baselines.TRAIL))
    span = int(bundle.data.get("garch_span", baselines.GARCH_SPAN))
    history = max(bundle.window - 1, span + trail + bundle.horizon)
    origins = period_origins(view, bundle, start, end, history)
    base = baseline_forecasts(view, origins, bundle.horizon, trail=trail, span=span)
    frame = walk_forward(view, origins, bundle.forecast_rows(view.frame, origins), base)
    metrics = score(frame, mase_scale=bundle.mase_scale or float("nan"))
    extra, tables = period_outlook(store, view, bundle, origins)
    metrics = {**metrics, **extra}
    first, last = (pd.Timestamp(view.open_time.iloc[i]).isoformat() for i in origins[[0, -1]])
    trained_until = bundle.data.get("trained_until")
    in_sample = bool(trained_until and pd.Timestamp(trained_until) >= pd.Timestamp(first))
    return {
        "model": version.name,
        "version": version.version,
        "kind": bundle.kind,
        "role": version.metadata.get("role"),
        "symbol": bundle.symbol,
        "interval": bundle.interval,
        "trained_until": trained_until,
        "in_sample": in_sample,
        "evaluation": (
            "the registered model as it is (not refitted), forecasting from feature rows up to "
            "each origin; baselines run walk-forward on the same origins"
        ),
        **metrics_report(metrics, period=[first, last], label="asked period", reliability=tables),
    }


def period_outlook(
    store: FeatureStore, view: FeatureView, bundle: ModelBundle, origins: np.ndarray
) -> tuple[dict[str, float], dict[str, Any]]:
    """The bundle's high/low and P(up) scores at `origins`, next to the same benchmarks as in
    training: the persistence range, the climatology the bundle was calibrated towards, and the
    random forest refitted (seeded) on the bundle's train period."""
    from training_pipeline.candle_range import with_candles
    from training_pipeline.feature_view import future_log_returns

    view = with_candles(view, store)
    labels = future_log_returns(view.close, bundle.horizon)
    outlook = bundle.outlook(view.frame, origins)
    horizons = tuple(h for h in EVAL_HORIZONS if h <= bundle.horizon)
    forest = None
    train = _period_rows(view, bundle.data.get("periods", {}).get("train"))
    if outlook.p_up is not None and train is not None:
        seed = int(bundle.data.get("seed", 42))
        model = direction.fit_forest(
            view.frame, view.feature_columns, labels, train, horizons, seed=seed
        )
        forest = direction.forest_up(model, view.frame, view.feature_columns, origins)
    base = bundle.direction.get("base_rate")
    return outlook_scores(
        view.frame,
        origins,
        labels=labels,
        candle=outlook.candle,
        p_up=outlook.p_up,
        base_rate=np.asarray(base) if base is not None else None,
        forest=forest,
        horizons=horizons,
    )


def _period_rows(view: FeatureView, dates: list[str] | None) -> np.ndarray | None:
    """Row positions of the view whose open time lies in [first, last] of a recorded period."""
    if not dates:
        return None
    times = pd.to_datetime(view.open_time, utc=True)
    inside = np.flatnonzero(
        ((times >= pd.Timestamp(dates[0])) & (times <= pd.Timestamp(dates[1]))).to_numpy()
    )
    return inside if len(inside) else None
