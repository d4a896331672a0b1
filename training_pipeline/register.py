"""Assembling bundles (persistence and networks), scoring them and registering them."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import keras
import pandas as pd

from feature_store.base import SELECTION_METRIC, ModelRegistry, ModelVersion
from training_pipeline.backtest import score, selection_score, walk_forward
from training_pipeline.bundle import ModelBundle
from training_pipeline.dataset import TrainingSet
from training_pipeline.fit import with_validation_band
from training_pipeline.intervals import VOLATILITY_SOURCES
from training_pipeline.models import QUANTILES, Architecture

logger = logging.getLogger(__name__)

EVALUATION_NOTE = (
    "frozen model: trained on the training split, early-stopped, tuned and calibrated on the "
    "validation split, then evaluated without retraining at every test origin from feature rows "
    "up to that origin only"
)


PERSISTENCE_SOURCES = (*VOLATILITY_SOURCES, "none")


def persistence_bundle(data: TrainingSet) -> ModelBundle:
    """The random-walk baseline: median return 0, its 80% band calibrated on validation.

    Built like the networks' band (`with_validation_band`): validation returns normalised by
    the origin's volatility, or plain empirical quantiles (`none`), whichever validation halves
    prefer, so the comparison with the networks stays fair.
    """
    bundle = _bundle(data, kind="persistence", window=1)
    return with_validation_band(bundle, data, PERSISTENCE_SOURCES)


def network_bundle(
    kind: str,
    arch: Architecture,
    hyperparameters: dict[str, Any],
    model: keras.Model,
    data: TrainingSet,
    *,
    device: str,
) -> ModelBundle:
    """A trained MLP or LSTM with the scalers of its training split."""
    bundle = _bundle(
        data,
        kind=kind,
        window=arch.window,
        scaler=data.scaler,
        target_scale=data.target_scale,
        hyperparameters=hyperparameters,
    )
    bundle.notes["device"] = device
    return bundle.with_model(model)


def evaluate(bundle: ModelBundle, persistence: ModelBundle, data: TrainingSet) -> ModelBundle:
    """Attach the validation selection metric, test metrics and the test walk-forward frame."""
    val = walk_forward(bundle, persistence, data.view, data.splits.val)
    test = walk_forward(bundle, persistence, data.view, data.splits.test)
    metrics = {SELECTION_METRIC: selection_score(val), **score(test)}
    return bundle.with_metrics(metrics).with_backtest(test)


def register(registry: ModelRegistry, bundle: ModelBundle) -> ModelVersion:
    """Save the bundle and register it as the next version of `{symbol}-{interval}-{kind}`."""
    with tempfile.TemporaryDirectory(prefix="candlecast-bundle-") as workdir:
        path = bundle.save(Path(workdir) / bundle.name)
        version = registry.register(
            bundle.name, path, metrics=finite(bundle.metrics), metadata=metadata(bundle)
        )
    logger.info("registered %s version %s", version.name, version.version)
    return version


def metadata(bundle: ModelBundle) -> dict[str, Any]:
    """What the registry records besides metrics: identity, data version, window and horizons."""
    return {
        "symbol": bundle.symbol,
        "interval": bundle.interval,
        "kind": bundle.kind,
        "window": bundle.window,
        "horizon": bundle.horizon,
        "quantiles": list(bundle.quantiles),
        **bundle.feature_group,
        **{k: v for k, v in bundle.data.items() if not isinstance(v, dict)},
        "hyperparameters": bundle.hyperparameters,
        "evaluation": EVALUATION_NOTE,
    }


def finite(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics that are real numbers (a registry stores floats, never NaN)."""
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


def _bundle(data: TrainingSet, *, kind: str, window: int, **fields: Any) -> ModelBundle:
    view, splits = data.view, data.splits
    version = view.data_version()
    ranges = splits.describe(view.open_time)
    last_label = view.open_time.iloc[int(splits.train[-1]) + data.horizon]
    return ModelBundle(
        kind=kind,
        symbol=view.symbol,
        interval=view.interval,
        feature_columns=view.feature_columns,
        window=window,
        horizon=data.horizon,
        quantiles=QUANTILES,
        feature_group={
            "feature_group": version.pop("feature_group"),
            "feature_group_version": version.pop("feature_group_version"),
            "table_version": version.pop("table_version"),
        },
        data={
            **version,
            "splits": ranges,
            "trained_until": pd.Timestamp(last_label).isoformat(),
            "test_start": ranges["test"][0],
            "test_end": ranges["test"][1],
        },
        notes={"evaluation": EVALUATION_NOTE},
        **fields,
    )
