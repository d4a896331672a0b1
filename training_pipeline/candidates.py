"""The candidates of a training run: two baselines and the networks, and how each is refitted.

Every candidate is first fitted on the fitting data only (train + inner validation). The one
the gate chooses is refitted through the last closed candle before it is served (`refit`), and
a chosen network is also refitted every `refit_every` test origins for its test figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from training_pipeline import baselines
from training_pipeline.bundle import ModelBundle
from training_pipeline.config import QUANTILES, Architecture, TrainConfig
from training_pipeline.metrics import naive_scale
from training_pipeline.periods import ROLES
from training_pipeline.training_set import TrainingSet, refit_set

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate; networks keep what a refit needs (architecture, epoch count)."""

    kind: str
    bundle: ModelBundle
    arch: Architecture | None = None
    epochs: int | None = None

    def forecast(self, data: TrainingSet, origins: np.ndarray) -> np.ndarray:
        """The frozen candidate's log-return quantiles at `origins`."""
        return self.bundle.forecast_rows(data.view.frame, origins)


def fitting_end(data: TrainingSet) -> int:
    """Row of the last candle the fitting data reaches: the inner validation's last label."""
    return int(data.splits.val[-1]) + data.horizon


def baseline_candidates(data: TrainingSet, config: TrainConfig) -> list[Candidate]:
    """Persistence with the empirical band and with the GARCH band, fitted on the fitting data."""
    cutoff = fitting_end(data)
    return [
        Candidate("persistence", persistence_bundle(data, config, cutoff)),
        Candidate("garch", garch_bundle(data, config, cutoff)),
    ]


def persistence_bundle(data: TrainingSet, config: TrainConfig, cutoff: int) -> ModelBundle:
    """No change with the trailing empirical 10% / 90% band: nothing is fitted."""
    return new_bundle(
        data,
        config,
        kind="persistence",
        window=baselines.empirical_rows(data.horizon, config.trail),
        cutoff=cutoff,
        baseline={"trail": config.trail},
    )


def garch_bundle(data: TrainingSet, config: TrainConfig, cutoff: int) -> ModelBundle:
    """No change with the GARCH(1,1)-t band fitted on every return up to row `cutoff`."""
    fit = baselines.fit_garch_band(
        np.log(data.view.close),
        cutoff,
        data.horizon,
        trail=config.trail,
        span=config.garch_span,
    )
    return new_bundle(
        data,
        config,
        kind="garch",
        window=baselines.garch_rows(config.garch_span),
        cutoff=cutoff,
        baseline={
            "params": fit.params.to_dict(),
            "widths": fit.widths.tolist(),
            "span": config.garch_span,
            "trail": config.trail,
            "refit_every": baselines.GARCH_REFIT_EVERY,
        },
    )


def network_candidate(
    kind: str, data: TrainingSet, config: TrainConfig, *, device: str, progress: bool = False
) -> Candidate:
    """Tune, fit (early-stopped) and calibrate a network on the fitting data."""
    from training_pipeline.fit import calibrate, fit_model, precision
    from training_pipeline.tune import tune

    with precision(config, device):
        arch, hyperparameters = tune(kind, data, config, progress=progress)
        model, epochs = fit_model(kind, arch, data, config, progress=progress)
    bundle = network_bundle(
        kind, arch, hyperparameters, model, data, config, fitting_end(data), device
    )
    if config.calibrate:
        bundle = calibrate(bundle, data)
    return Candidate(kind, bundle, arch, epochs)


def network_bundle(
    kind: str,
    arch: Architecture,
    hyperparameters: dict[str, Any],
    model: Any,
    data: TrainingSet,
    config: TrainConfig,
    cutoff: int,
    device: str,
) -> ModelBundle:
    """A trained MLP or LSTM with the scalers of its fitting rows."""
    bundle = new_bundle(
        data,
        config,
        kind=kind,
        window=arch.window,
        cutoff=cutoff,
        scaler=data.scaler,
        target_scale=data.target_scale,
        hyperparameters=hyperparameters,
    )
    bundle.notes["device"] = device
    return bundle.with_model(model)


def refit(
    candidate: Candidate, data: TrainingSet, config: TrainConfig, cutoff: int, *, device: str
) -> ModelBundle:
    """The candidate's configuration refitted on every candle up to row `cutoff`.

    Baselines: the empirical band needs nothing; the GARCH is fitted on every return and its
    widths on the last `trail` outcomes up to the cutoff. Networks: same hyperparameters and
    epoch count; a first fit that stops `val_size + horizon` origins early calibrates the
    shrinkage and band on the most recent `val_size` labelled origins (out of its sample), then
    a second fit on every labelled origin is served with that calibration.
    """
    if candidate.kind == "persistence":
        return persistence_bundle(data, config, cutoff)
    if candidate.kind == "garch":
        return garch_bundle(data, config, cutoff)
    from training_pipeline.fit import calibrate, fit_model, precision

    assert candidate.arch is not None and candidate.epochs is not None
    early, full = refit_set(data, cutoff, calibration=config.val_size)
    kind, arch, epochs = candidate.kind, candidate.arch, candidate.epochs
    hyperparameters = candidate.bundle.hyperparameters
    with precision(config, device):
        model, _ = fit_model(kind, arch, early, config, epochs=epochs)
        first = network_bundle(kind, arch, hyperparameters, model, early, config, cutoff, device)
        calibrated = calibrate(first, early)
        model, _ = fit_model(kind, arch, full, config, epochs=epochs)
    served = network_bundle(kind, arch, hyperparameters, model, full, config, cutoff, device)
    notes = {**served.notes, **calibrated.notes, "refit_epochs": epochs}
    return replace(served, shrink=calibrated.shrink, band=calibrated.band, notes=notes)


def refit_walk_forward(
    candidate: Candidate,
    data: TrainingSet,
    config: TrainConfig,
    origins: np.ndarray,
    *,
    device: str,
) -> np.ndarray:
    """A network's forecasts at `origins`, refitted at every `refit_every`-th one (0: frozen).

    Each refit uses the candles up to its origin only, so each block is out of sample.
    """
    if config.refit_every == 0 or candidate.bundle.is_baseline:
        return candidate.forecast(data, origins)
    out = np.zeros((len(origins), data.horizon, 3))
    for start in range(0, len(origins), config.refit_every):
        block = slice(start, start + config.refit_every)
        bundle = refit(candidate, data, config, int(origins[start]), device=device)
        out[block] = bundle.forecast_rows(data.view.frame, origins[block])
        logger.info("%s refitted at test origin %d of %d", candidate.kind, start + 1, len(origins))
    return out


def new_bundle(
    data: TrainingSet, config: TrainConfig, *, kind: str, window: int, cutoff: int, **fields: Any
) -> ModelBundle:
    """A bundle of `kind` for the series, with its periods and the data it saw (to `cutoff`)."""
    view = data.view
    version = view.data_version()
    close = view.close[: fitting_end(data) + 1]
    return ModelBundle(
        kind=kind,
        symbol=view.symbol,
        interval=view.interval,
        feature_columns=view.feature_columns,
        window=window,
        horizon=data.horizon,
        quantiles=QUANTILES,
        mase_scale=naive_scale(close),
        feature_group={
            "feature_group": version.pop("feature_group"),
            "feature_group_version": version.pop("feature_group_version"),
            "table_version": version.pop("table_version"),
        },
        data={
            **version,
            "periods": data.splits.describe(view.open_time),
            "roles": ROLES,
            "trained_until": pd.Timestamp(view.open_time.iloc[cutoff]).isoformat(),
            "trail": config.trail,
            "garch_span": config.garch_span,
        },
        **fields,
    )
