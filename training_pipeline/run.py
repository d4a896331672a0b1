"""The training recipe: read the feature view, fit baselines and networks, evaluate, register."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from candlecast.settings import Settings
from feature_store.base import SELECTION_METRIC, FeatureStore, ModelRegistry, ModelVersion
from training_pipeline.config import DEFAULT, TrainConfig
from training_pipeline.data import load_feature_view
from training_pipeline.dataset import prepare
from training_pipeline.fit import calibrate, device_name, fit_model, precision
from training_pipeline.register import evaluate, network_bundle, persistence_bundle, register
from training_pipeline.tune import tune

logger = logging.getLogger(__name__)

HEADLINE_KEYS = ("mae_ratio_h1", "mae_ratio_h7", "coverage80_h1", "da_h1")


@dataclass(frozen=True)
class TrainReport:
    """What one training run registered, and which of its models validation prefers."""

    symbol: str
    interval: str
    device: str
    data: dict[str, Any]
    versions: list[ModelVersion] = field(default_factory=list)

    @property
    def best(self) -> ModelVersion:
        """Lowest validation ratio; on a tie persistence, the simpler model, wins."""
        return min(
            self.versions,
            key=lambda v: (v.metrics[SELECTION_METRIC], v.metadata.get("kind") != "persistence"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "device": self.device,
            "data": self.data,
            "best": self.best.name,
            "models": [
                {
                    "name": v.name,
                    "version": v.version,
                    SELECTION_METRIC: v.metrics[SELECTION_METRIC],
                    **{k: v.metrics.get(k) for k in HEADLINE_KEYS},
                }
                for v in self.versions
            ],
        }


def run(
    settings: Settings,
    store: FeatureStore,
    registry: ModelRegistry,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    config: TrainConfig = DEFAULT,
    progress: bool = True,
) -> TrainReport:
    """Train, evaluate and register persistence plus each model kind of `config` for one series."""
    symbol = symbol or settings.symbols[0]
    interval = interval or settings.interval
    view = load_feature_view(store, symbol, interval)
    data = prepare(view, config)
    device = device_name()
    logger.info("training %s on %s %s (%d rows)", config.models, symbol, interval, len(view.frame))

    baseline = persistence_bundle(data)
    persistence = evaluate(baseline, baseline, data)
    versions = []
    for kind in config.models:
        with precision(config, device):
            arch, hyperparameters = tune(kind, data, config, progress=progress)
            model = fit_model(kind, arch, data, config, progress=progress)
        bundle = network_bundle(kind, arch, hyperparameters, model, data, device=device)
        if config.calibrate:
            bundle = calibrate(bundle, data)
        versions.append(register(registry, evaluate(bundle, persistence, data)))
    # Registered last, so the registry's tie-break (newest first) prefers persistence on a tie.
    versions.insert(0, register(registry, persistence))
    return TrainReport(symbol, interval, device, view.data_version(), versions)
