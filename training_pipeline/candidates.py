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

from training_pipeline import baselines, direction
from training_pipeline.bundle import ModelBundle, Outlook
from training_pipeline.config import QUANTILES, Architecture, TrainConfig
from training_pipeline.metrics import naive_scale
from training_pipeline.periods import ROLES
from training_pipeline.training_set import TrainingSet, refit_set
from training_pipeline.windows import has_ranges

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate; networks keep what a refit needs (architecture, epoch count)."""

    kind: str
    bundle: ModelBundle
    arch: Architecture | None = None
    epochs: int | None = None
    candle_epochs: int | None = None

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
        **baseline_extras(data, config, cutoff),
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
        **baseline_extras(data, config, cutoff),
    )


def baseline_extras(data: TrainingSet, config: TrainConfig, cutoff: int) -> dict[str, Any]:
    """A baseline's high/low quantiles and P(up) map as of row `cutoff`.

    P(up) is the trailing share of up-moves, calibrated on the last `val_size` origins whose
    outcome closed by the cutoff (the inner validation for a first fit, which ends there).
    The high/low quantiles are the trailing empirical ones, frozen at the cutoff for serving.
    """
    horizon, trail = data.horizon, config.trail
    last = cutoff - horizon
    first_known = trail + horizon - 1
    origins = np.arange(max(last - config.val_size + 1, first_known), last + 1)
    log_close = np.log(data.view.close)
    raw = direction.trailing_up(log_close, origins, horizon, trail)
    base = direction.up_rate(data.labels, np.arange(int(data.splits.train[0]), last + 1))
    up = data.labels[origins] > 0
    extras: dict[str, Any] = {
        "direction": direction.fit_calibration(raw, up, base, source="trailing")
    }
    if has_ranges(data.view.frame):
        from training_pipeline.candle_range import empirical_range

        frozen = empirical_range(data.view.frame, np.array([cutoff]), horizon, trail)[0]
        extras["candle"] = {"source": "empirical", "trail": trail, "quantiles": frozen.tolist()}
    return extras


def network_candidate(
    kind: str, data: TrainingSet, config: TrainConfig, *, device: str, progress: bool = False
) -> Candidate:
    """Tune, fit (early-stopped) and calibrate a network on the fitting data.

    Where the rows carry candle highs and lows, a high/low head is then trained on the frozen
    network (early-stopped on the inner validation too).
    """
    from training_pipeline.fit import (
        calibrate,
        can_fit_candles,
        fit_candle_head,
        fit_model,
        precision,
    )
    from training_pipeline.tune import tune

    candle: dict[str, Any] = {}
    with precision(config, device):
        arch, hyperparameters = tune(kind, data, config, progress=progress)
        model, epochs = fit_model(kind, arch, data, config, progress=progress)
        if can_fit_candles(data):
            model, candle = fit_candle_head(model, arch, data, config)
    bundle = network_bundle(
        kind, arch, hyperparameters, model, data, config, fitting_end(data), device, candle
    )
    if config.calibrate:
        bundle = calibrate(bundle, data)
    return Candidate(kind, bundle, arch, epochs, candle.get("epochs"))


def network_bundle(
    kind: str,
    arch: Architecture,
    hyperparameters: dict[str, Any],
    model: Any,
    data: TrainingSet,
    config: TrainConfig,
    cutoff: int,
    device: str,
    candle: dict[str, Any] | None = None,
) -> ModelBundle:
    """A trained MLP or LSTM with the scalers of its fitting rows (and its high/low head's)."""
    bundle = new_bundle(
        data,
        config,
        kind=kind,
        window=arch.window,
        cutoff=cutoff,
        scaler=data.scaler,
        target_scale=data.target_scale,
        hyperparameters=hyperparameters,
        candle=candle or {},
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
    from training_pipeline.fit import calibrate, fit_candle_head, fit_model, precision

    assert candidate.arch is not None and candidate.epochs is not None
    early, full = refit_set(data, cutoff, calibration=config.val_size)
    kind, arch, epochs = candidate.kind, candidate.arch, candidate.epochs
    hyperparameters = candidate.bundle.hyperparameters
    candle: dict[str, Any] = {}
    with precision(config, device):
        model, _ = fit_model(kind, arch, early, config, epochs=epochs)
        first = network_bundle(kind, arch, hyperparameters, model, early, config, cutoff, device)
        calibrated = calibrate(first, early)
        model, _ = fit_model(kind, arch, full, config, epochs=epochs)
        if candidate.candle_epochs is not None:
            model, candle = fit_candle_head(
                model, arch, full, config, epochs=candidate.candle_epochs
            )
    served = network_bundle(
        kind, arch, hyperparameters, model, full, config, cutoff, device, candle
    )
    notes = {**served.notes, **calibrated.notes, "refit_epochs": epochs}
    return replace(
        served,
        shrink=calibrated.shrink,
        band=calibrated.band,
        direction=calibrated.direction,
        notes=notes,
    )


def refit_walk_forward(
    candidate: Candidate,
    data: TrainingSet,
    config: TrainConfig,
    origins: np.ndarray,
    *,
    device: str,
) -> Outlook:
    """A network's forecasts at `origins`, refitted at every `refit_every`-th one (0: frozen).

    Each refit uses the candles up to its origin only, so each block is out of sample. The
    high/low quantiles and P(up) come with them (None where a block's bundle lacks them).
    """
    if config.refit_every == 0 or candidate.bundle.is_baseline:
        return candidate.bundle.outlook(data.view.frame, origins)
    blocks = []
    for start in range(0, len(origins), config.refit_every):
        block = slice(start, start + config.refit_every)
        bundle = refit(candidate, data, config, int(origins[start]), device=device)
        blocks.append(bundle.outlook(data.view.frame, origins[block]))
        logger.info("%s refitted at test origin %d of %d", candidate.kind, start + 1, len(origins))
    return join_outlooks(blocks)


def join_outlooks(blocks: list[Outlook]) -> Outlook:
    """Consecutive blocks of origins as one outlook."""

    def joined(parts: list[np.ndarray | None]) -> np.ndarray | None:
        return None if any(p is None for p in parts) else np.concatenate(parts)

    return Outlook(
        np.concatenate([b.close for b in blocks]),
        joined([b.candle for b in blocks]),
        joined([b.p_up for b in blocks]),
    )


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
            "seed": config.seed,
        },
        **fields,
    )
