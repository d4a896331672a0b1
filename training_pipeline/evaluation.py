"""Scoring a registered model on any period, next to both baselines on the same origins.

This is how a model is checked on data that arrived after it was trained: its forecasts are
built exactly as `Forecaster.forecast(..., as_of=origin)` builds them (the bundle's
`forecast_rows` on feature rows up to each origin), and the baselines are run as a user would
run them (the GARCH band refitted every 30 origins on the data up to each refit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import ValidationError
from feature_store.base import FeatureStore, ModelVersion
from training_pipeline import baselines
from training_pipeline.backtest import baseline_forecasts, score, walk_forward
from training_pipeline.bundle import ModelBundle
from training_pipeline.data import FeatureView, load_feature_view
from training_pipeline.report import metrics_report


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
    view = load_feature_view(store, bundle.symbol, bundle.interval)
    trail = int(bundle.data.get("trail", baselines.TRAIL))
    span = int(bundle.data.get("garch_span", baselines.GARCH_SPAN))
    history = max(bundle.window - 1, span + trail + bundle.horizon)
    origins = period_origins(view, bundle, start, end, history)
    base = baseline_forecasts(view, origins, bundle.horizon, trail=trail, span=span)
    frame = walk_forward(view, origins, bundle.forecast_rows(view.frame, origins), base)
    metrics = score(frame, mase_scale=bundle.mase_scale or float("nan"))
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
        **metrics_report(metrics, period=[first, last], label="asked period"),
    }
