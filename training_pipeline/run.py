"""The training recipe per series: fit candidates, select on its own period, refit, register.

For each symbol: read the feature view -> fit the baselines and networks on the fitting data ->
forecast the selection period walk-forward and apply the gate (`selection`) -> score every
candidate on the test period -> refit the chosen configuration through the last closed candle
-> register the candidates and, last, the served version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from candlecast.settings import Settings
from feature_store.base import SERVED_METRIC, FeatureStore, ModelRegistry, ModelVersion
from training_pipeline import direction
from training_pipeline.backtest import (
    Baselines,
    baseline_forecasts,
    outlook_scores,
    score,
    walk_forward,
)
from training_pipeline.bundle import ModelBundle, Outlook
from training_pipeline.candidates import (
    Candidate,
    baseline_candidates,
    network_candidate,
    refit,
    refit_walk_forward,
)
from training_pipeline.candle_range import with_candles
from training_pipeline.config import DEFAULT, EVAL_HORIZONS, TrainConfig
from training_pipeline.evaluation import outlook_horizons
from training_pipeline.feature_view import load_feature_view
from training_pipeline.joins import Join
from training_pipeline.register import register
from training_pipeline.selection import Decision, Scorecard, decide, scorecard
from training_pipeline.training_set import TrainingSet, prepare

logger = logging.getLogger(__name__)

HEADLINE_KEYS = (
    "mae_ratio_h1",
    "mae_ratio_h7",
    "winkler_ratio_h1",
    "coverage80_h1",
    "high_mae_ratio_h1",
    "low_mae_ratio_h1",
    "brier_skill_h1",
    "brier_skill_rf_h1",
)


@dataclass(frozen=True)
class SeriesReport:
    """What one series' run registered, what it serves and why."""

    symbol: str
    interval: str
    device: str
    data: dict[str, Any]
    periods: dict[str, list[str]]
    decision: Decision
    served: ModelVersion
    candidates: list[ModelVersion] = field(default_factory=list)

    @property
    def sentence(self) -> str:
        return str(self.served.metadata.get("decision", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "device": self.device,
            "data": self.data,
            "periods": self.periods,
            "served": {
                "name": self.served.name,
                "version": self.served.version,
                "kind": self.served.metadata.get("kind"),
                "trained_until": self.served.metadata.get("trained_until"),
                "decision": self.sentence,
                # Per horizon: high/low MAE and ratio to the persistence range, Brier scores,
                # skills and reliability tables of P(up), on the test period.
                "candles_and_direction": outlook_horizons(self.served),
            },
            "models": [_summary(v) for v in self.candidates],
        }


@dataclass(frozen=True)
class TrainReport:
    """One training run over one or more series."""

    series: list[SeriesReport]

    def to_dict(self) -> dict[str, Any]:
        return {"series": [s.to_dict() for s in self.series]}


def run(
    settings: Settings,
    store: FeatureStore,
    registry: ModelRegistry,
    *,
    symbols: tuple[str, ...] | None = None,
    interval: str | None = None,
    config: TrainConfig = DEFAULT,
    progress: bool = True,
    extra: Mapping[str, Any] | None = None,
    joins: Sequence[Join] = (),
) -> TrainReport:
    """Train, select, refit and register every series of `symbols` (default: the settings').

    `extra` is metadata added to every version the run registers (e.g. why a retrain ran);
    `joins` add other series' features as of each row (`training_pipeline.joins`).
    """
    from training_pipeline.fit import device_name

    device = device_name()
    interval = interval or settings.interval
    started = time.time()
    reports = [
        train_series(
            store,
            registry,
            symbol,
            interval,
            config,
            device,
            started,
            progress,
            extra=extra,
            joins=joins,
        )
        for symbol in symbols or settings.symbols
    ]
    return TrainReport(reports)


def train_series(
    store: FeatureStore,
    registry: ModelRegistry,
    symbol: str,
    interval: str,
    config: TrainConfig,
    device: str,
    started: float,
    progress: bool,
    *,
    extra: Mapping[str, Any] | None = None,
    joins: Sequence[Join] = (),
) -> SeriesReport:
    """The recipe of the module docstring for one series."""
    view = with_candles(load_feature_view(store, symbol, interval, joins=joins), store)
    data = prepare(view, config)
    splits = data.splits
    logger.info("training %s on %s %s (%d rows)", config.models, symbol, interval, len(view.frame))
    candidates = baseline_candidates(data, config) + [
        network_candidate(kind, data, config, device=device, progress=progress)
        for kind in config.models
    ]

    selection = _baselines(data, config, splits.selection)
    frames = {c.kind: _frame(c, data, selection) for c in candidates}
    cards = {c.kind: scorecard(c.kind, frames[c.kind], _note(c)) for c in candidates}
    periods = splits.describe(view.open_time)
    decision = decide(list(cards.values()), tuple(periods["selection"]))
    logger.info("%s %s: serving %s", symbol, interval, decision.served)

    test = _baselines(data, config, splits.test)
    tests = {c.kind: _frame(c, data, test) for c in candidates}
    chosen = next(c for c in candidates if c.kind == decision.served)
    horizons = tuple(h for h in EVAL_HORIZONS if h <= data.horizon)
    forest = _forest_up(data, config, splits.test, horizons)
    extras = {
        c.kind: _outlook(data, c.bundle, c.bundle.outlook(view.frame, splits.test), forest)
        for c in candidates
    }
    served_test, served_extras = tests[chosen.kind], extras[chosen.kind]
    if not chosen.bundle.is_baseline:
        outlook = refit_walk_forward(chosen, data, config, splits.test, device=device)
        served_test = walk_forward(view, splits.test, outlook.close, test)
        served_extras = _outlook(data, chosen.bundle, outlook, forest)
    served_bundle = refit(chosen, data, config, len(view.frame) - 1, device=device)

    run_info = {**(extra or {}), "run": datetime.fromtimestamp(started, UTC).isoformat()}
    versions = [
        register(
            registry,
            _scored(c.bundle, cards[c.kind], tests[c.kind], extras[c.kind]),
            role="candidate",
            extra=run_info,
        )
        for c in candidates
    ]
    sentence = decision.sentence(served_bundle.data["trained_until"])
    served = _scored(served_bundle, cards[chosen.kind], served_test, served_extras).with_metrics(
        {SERVED_METRIC: started}
    )
    served_version = register(
        registry,
        served,
        role="served",
        # The whole config, so that a retrain (training_pipeline.retrain) can run it again.
        extra={
            **run_info,
            "decision": sentence,
            "refit_every": config.refit_every,
            "config": config.to_dict(),
        },
    )
    return SeriesReport(
        symbol, interval, device, view.data_version(), periods, decision, served_version, versions
    )


def _baselines(data: TrainingSet, config: TrainConfig, origins: np.ndarray) -> Baselines:
    return baseline_forecasts(
        data.view, origins, data.horizon, trail=config.trail, span=config.garch_span
    )


def _frame(candidate: Candidate, data: TrainingSet, base: Baselines):
    """A candidate's walk-forward frame: baselines as they run, networks frozen."""
    if candidate.kind == "persistence":
        forecast = base.empirical
    elif candidate.kind == "garch":
        forecast = base.garch
    else:
        forecast = candidate.forecast(data, base.origins)
    return walk_forward(data.view, base.origins, forecast, base)


def _note(candidate: Candidate) -> str | None:
    shrink = candidate.bundle.shrink
    if shrink is not None and not any(shrink):
        return "its median was shrunk to no change on the inner validation"
    return None


def _forest_up(
    data: TrainingSet, config: TrainConfig, origins: np.ndarray, horizons: tuple[int, ...]
) -> np.ndarray:
    """The random-forest benchmark's P(up) at `origins`, fitted on the train period only."""
    frame, columns = data.view.frame, data.view.feature_columns
    forest = direction.fit_forest(
        frame, columns, data.labels, data.splits.train, horizons, seed=config.seed
    )
    return direction.forest_up(forest, frame, columns, origins)


def _outlook(data: TrainingSet, fitted: ModelBundle, outlook: Outlook, forest: np.ndarray):
    """High/low and P(up) test scores; climatology is the up-rate `fitted` calibrated towards."""
    base = fitted.direction.get("base_rate")
    return outlook_scores(
        data.view.frame,
        data.splits.test,
        labels=data.labels,
        candle=outlook.candle,
        p_up=outlook.p_up,
        base_rate=np.asarray(base) if base is not None else None,
        forest=forest,
        horizons=tuple(h for h in EVAL_HORIZONS if h <= data.horizon),
    )


def _scored(bundle, card: Scorecard, test_frame, extras=({}, {})):
    """The bundle with its selection and test metrics and its test walk-forward frame.

    `extras` are the high/low and P(up) test metrics and reliability tables (`_outlook`).
    """
    metrics = {**card.metrics(), **score(test_frame, mase_scale=bundle.mase_scale or np.nan)}
    scored = bundle.with_metrics({**metrics, **extras[0]}).with_backtest(test_frame)
    if extras[1]:
        scored = replace(scored, notes={**scored.notes, "reliability": extras[1]})
    return scored


def _summary(version: ModelVersion) -> dict[str, Any]:
    m = version.metrics
    return {
        "name": version.name,
        "version": version.version,
        "kind": version.metadata.get("kind"),
        "sel_mae_ratio": m.get("sel_mae_ratio"),
        "sel_winkler_ratio": m.get("sel_winkler_ratio"),
        **{k: m.get(k) for k in HEADLINE_KEYS},
    }
