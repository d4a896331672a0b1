"""Monitoring: rolling figures of the scored forecasts, against no change, and the alert rule.

Per model and horizon, over the last 30 and 90 scored forecasts: the MAE ratio and the interval
(Winkler) score ratio to the no-change baseline's forecasts from the same origins, and the
coverage of the 80% band. The served model is `degraded` when, over its last 30 scored h = 1
forecasts, its MAE ratio is above 1.05 or its coverage below 65%. Live and hindcast forecasts
are never mixed unless asked, and forecasts whose origin lies inside the model's fitting data
(a hindcast by a model fitted later) are left out unless asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daily_pipeline.groups import KINDS, LIVE, OUTCOMES
from daily_pipeline.predictions import PERSISTENCE
from feature_pipeline.sync import read_or_empty
from feature_store.base import FeatureStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from feature_store.base import ModelVersion
    from training_pipeline.retrain import Health

WINDOWS = (30, 90)
HORIZONS = (1, 3, 7, 14, 30)
RULE_HORIZON, RULE_WINDOW = 1, 30
MAX_MAE_RATIO = 1.05
MIN_COVERAGE = 0.65
ALL = "all"


@dataclass(frozen=True)
class Rolling:
    """One model's figures at one horizon over its last `window` scored forecasts."""

    model: str
    horizon: int
    window: int
    scored: int  # how many of the window's forecasts exist (fewer than `window` early on)
    mae_ratio: float | None  # vs no change from the same origins; None when it has none
    winkler_ratio: float | None
    coverage: float | None
    mae: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SeriesMonitor:
    """What `candlecast monitor` reports for one series."""

    symbol: str
    interval: str
    kind: str
    served: str | None
    figures: tuple[Rolling, ...]
    degraded: tuple[str, ...] = ()  # why the served model is degraded (empty: it is not)
    note: str = ""
    excluded_in_sample: int = 0
    last_scored: pd.Timestamp | None = None
    models: tuple[str, ...] = field(default=())

    @property
    def is_degraded(self) -> bool:
        return bool(self.degraded)

    def figure(self, model: str, horizon: int, window: int) -> Rolling | None:
        return next(
            (f for f in self.figures if (f.model, f.horizon, f.window) == (model, horizon, window)),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "interval": self.interval,
            "kind": self.kind,
            "served": self.served,
            "degraded": self.is_degraded,
            "reasons": list(self.degraded),
            "note": self.note,
            "excluded_in_sample": self.excluded_in_sample,
            "last_scored": None if self.last_scored is None else self.last_scored.isoformat(),
            "figures": [f.to_dict() for f in self.figures],
        }


def scored(
    store: FeatureStore,
    symbol: str,
    interval: str,
    *,
    kind: str = LIVE,
    in_sample: bool = False,
) -> tuple[pd.DataFrame, int]:
    """The series' outcomes of one kind (or `all`), and how many in-sample ones were left out."""
    if kind != ALL and kind not in KINDS:
        raise ValueError(f"kind must be one of {(*KINDS, ALL)}, got {kind!r}")
    frame = read_or_empty(store, OUTCOMES, symbol=symbol, interval=interval)
    if kind != ALL:
        frame = frame.loc[frame["kind"] == kind]
    inside = frame["trained_until"].notna() & (frame["trained_until"] > frame["origin_time"])
    excluded = 0 if in_sample else int(inside.sum())
    if not in_sample:
        frame = frame.loc[~inside]
    return frame.reset_index(drop=True), excluded


def monitor_series(
    outcomes: pd.DataFrame,
    symbol: str,
    interval: str,
    served: str | None,
    *,
    kind: str = LIVE,
    horizons: Sequence[int] = HORIZONS,
    windows: Sequence[int] = WINDOWS,
    excluded_in_sample: int = 0,
) -> SeriesMonitor:
    """Rolling figures per logged model and horizon, and whether the served model is degraded."""
    models = _ordered_models(outcomes, served)
    baseline = _persistence(outcomes)
    figures = tuple(
        rolling(outcomes, baseline, model, h, w)
        for model in models
        for h in horizons
        for w in windows
    )
    report = SeriesMonitor(
        symbol,
        interval,
        kind,
        served,
        figures,
        excluded_in_sample=excluded_in_sample,
        last_scored=None if outcomes.empty else pd.Timestamp(outcomes["target_time"].max()),
        models=tuple(models),
    )
    reasons, note = _judge(report)
    return SeriesMonitor(**{**report.__dict__, "degraded": reasons, "note": note})


def rolling(
    outcomes: pd.DataFrame, baseline: pd.DataFrame | None, model: str, horizon: int, window: int
) -> Rolling:
    """The figures of the model's last `window` scored forecasts at `horizon`."""
    rows = outcomes.loc[(outcomes["model"] == model) & (outcomes["horizon"] == horizon)]
    rows = rows.sort_values("target_time").tail(window)
    if rows.empty:
        return Rolling(model, horizon, window, 0, None, None, None, None)
    mae_ratio = winkler_ratio = None
    if baseline is not None:
        paired = rows.merge(
            baseline, on=["origin_time", "horizon"], how="inner", suffixes=("", "_base")
        )
        if len(paired):
            mae_ratio = _ratio(paired["error"].abs(), paired["error_base"].abs())
            winkler_ratio = _ratio(paired["interval_score"], paired["interval_score_base"])
    return Rolling(
        model,
        horizon,
        window,
        len(rows),
        mae_ratio,
        winkler_ratio,
        float(rows["inside"].mean()),
        float(rows["error"].abs().mean()),
    )


def _judge(report: SeriesMonitor) -> tuple[tuple[str, ...], str]:
    if report.served is None:
        return (), "no served model has scored forecasts"
    figure = report.figure(report.served, RULE_HORIZON, RULE_WINDOW)
    if figure is None or figure.scored < RULE_WINDOW:
        have = 0 if figure is None else figure.scored
        return (), (
            f"{have} of the {RULE_WINDOW} scored h = {RULE_HORIZON} {report.kind} forecasts the "
            "rule needs"
        )
    reasons = []
    if figure.mae_ratio is not None and figure.mae_ratio > MAX_MAE_RATIO:
        reasons.append(
            f"MAE ratio {figure.mae_ratio:.3f} > {MAX_MAE_RATIO} over the last {RULE_WINDOW} "
            f"h = {RULE_HORIZON} forecasts"
        )
    if figure.coverage is not None and figure.coverage < MIN_COVERAGE:
        reasons.append(
            f"coverage {figure.coverage:.0%} < {MIN_COVERAGE:.0%} over the last {RULE_WINDOW} "
            f"h = {RULE_HORIZON} forecasts"
        )
    return tuple(reasons), ""


def _persistence(outcomes: pd.DataFrame) -> pd.DataFrame | None:
    names = [m for m in outcomes["model"].unique() if str(m).endswith(f"-{PERSISTENCE}")]
    if not names:
        return None
    rows = outcomes.loc[outcomes["model"] == names[0]]
    return rows[["origin_time", "horizon", "error", "interval_score"]]


def _ordered_models(outcomes: pd.DataFrame, served: str | None) -> list[str]:
    names = sorted(str(m) for m in outcomes["model"].unique())
    if served in names:
        names.remove(served)
        names.insert(0, served)
    return names


def _ratio(numerator: pd.Series, denominator: pd.Series) -> float | None:
    bottom = float(np.mean(denominator))
    return float(np.mean(numerator)) / bottom if bottom > 0 else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def live_health(store: FeatureStore) -> Callable[[str, str, ModelVersion], Health]:
    """The live monitor's verdict on a served version, from its own scored forecasts only.

    Forecasts an older version of the same name made are left out, so a version refitted
    because it was degraded is judged on what it forecast, not on its predecessor's misses.
    """
    from training_pipeline.retrain import Health

    def check(symbol: str, interval: str, served: ModelVersion) -> Health:
        outcomes, excluded = scored(store, symbol, interval)
        own = (outcomes["model"] != served.name) | (outcomes["version"] == served.version)
        report = monitor_series(
            outcomes.loc[own], symbol, interval, served.name, excluded_in_sample=excluded
        )
        return Health(report.degraded, report.note)

    return check
