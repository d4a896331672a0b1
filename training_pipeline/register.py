"""Registering a run's bundles with their metrics and what the registry records about them."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from feature_store.base import ModelRegistry, ModelVersion
from training_pipeline.bundle import ModelBundle

logger = logging.getLogger(__name__)

EVALUATION_NOTES = {
    "candidate": (
        "fitted on the fitting data only (train + inner validation); selection-period and "
        "test-period figures are walk-forward forecasts from feature rows up to each origin: "
        "networks frozen, the GARCH baseline refitted every 30 origins"
    ),
    "served": (
        "the configuration the gate chose, refitted through the last closed candle; its test "
        "figures are the walk-forward forecasts of the chosen configuration (a network refitted "
        "every refit_every origins on data up to that origin)"
    ),
}


def register(
    registry: ModelRegistry, bundle: ModelBundle, *, role: str, extra: dict[str, Any]
) -> ModelVersion:
    """Save the bundle and register it as the next version of `{symbol}-{interval}-{kind}`."""
    with tempfile.TemporaryDirectory(prefix="candlecast-bundle-") as workdir:
        path = bundle.save(Path(workdir) / bundle.name)
        version = registry.register(
            bundle.name,
            path,
            metrics=finite(bundle.metrics),
            metadata={**metadata(bundle, role), **extra},
        )
    logger.info("registered %s version %s (%s)", version.name, version.version, role)
    return version


def metadata(bundle: ModelBundle, role: str) -> dict[str, Any]:
    """What the registry records besides metrics: identity, role, data, periods, horizons."""
    periods = bundle.data.get("periods", {})
    return {
        "symbol": bundle.symbol,
        "interval": bundle.interval,
        "kind": bundle.kind,
        "role": role,
        "window": bundle.window,
        "horizon": bundle.horizon,
        "quantiles": list(bundle.quantiles),
        **bundle.feature_group,
        **{k: v for k, v in bundle.data.items() if not isinstance(v, dict)},
        **{f"{name}_period": list(dates) for name, dates in periods.items()},
        "hyperparameters": bundle.hyperparameters,
        "evaluation": EVALUATION_NOTES[role],
        # What the bundle forecasts besides the close, and the test period's P(up) reliability.
        "forecasts_candles": bool(bundle.candle),
        "p_up_calibration": _calibration_summary(bundle.direction),
        "reliability": bundle.notes.get("reliability", {}),
    }


def _calibration_summary(calibration: dict[str, Any]) -> dict[str, Any]:
    keys = ("source", "method", "calibrated_on", "origins", "prior_observations", "base_rate")
    return {k: calibration[k] for k in keys if k in calibration}


def finite(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics that are real numbers (a registry stores floats, never NaN)."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}
