"""Scheduled retraining: run a series' training again when its served model is old or degraded.

Per series: the served version -> its age (the time since the close of the last candle it was
fitted on) against the limit, and the live monitor's verdict -> refit, or nothing and why, in
one line. A refit is the training run with the configuration the served version recorded
(`config` in its registry metadata; the default config for a version that recorded none), so
every candidate is fitted again, the gate chooses again on the new selection period, and the
newly served version is registered. The monitor belongs to the daily pipeline, a floor above
this package, so its verdict is passed in (`Health`) by the entry points.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from candlecast.errors import CandlecastError, ModelNotFound, SettingsError
from candlecast.intervals import interval_step
from candlecast.settings import Settings
from feature_pipeline.groups import FEATURES
from feature_pipeline.sync import last_stored
from feature_store.base import FeatureStore, ModelRegistry, ModelVersion, served_version
from training_pipeline.config import DEFAULT, TrainConfig

logger = logging.getLogger(__name__)

REFIT, NONE = "refit", "none"
_AGE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Health:
    """The live monitor's verdict on the served version: why it is degraded (empty: it is not)."""

    degraded: tuple[str, ...] = ()
    note: str = ""  # why the rule could not judge yet, e.g. too few scored forecasts

    def words(self) -> str:
        if self.degraded:
            return f"live monitor: degraded ({'; '.join(self.degraded)})"
        if self.note:
            return f"live monitor: no verdict yet ({self.note})"
        return "live monitor: not degraded"


# What the entry points pass in: the monitor's verdict on a series' served version.
HealthCheck = Callable[[str, str, ModelVersion], Health]


@dataclass(frozen=True)
class Plan:
    """What a retrain does to one series, and why in one line."""

    symbol: str
    interval: str
    action: str  # refit | none
    reason: str
    served: ModelVersion | None
    config: TrainConfig | None = None  # the configuration a refit runs
    error: str | None = None  # the series cannot be retrained (e.g. it has no features)


@dataclass(frozen=True)
class Outcome:
    """What a retrain did to one series."""

    plan: Plan
    new: ModelVersion | None = None
    error: str | None = None
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "symbol": plan.symbol,
            "interval": plan.interval,
            "action": plan.action,
            "reason": plan.reason,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "error": self.error,
            "old": version_summary(plan.served),
            "new": version_summary(self.new),
            "config": None if plan.config is None else plan.config.to_dict(),
            "seconds": round(self.seconds, 1),
        }


def parse_age(text: str, what: str = "--max-age") -> timedelta:
    """'30d', '12h', '90m', '2w' -> a timedelta; SettingsError naming the accepted forms."""
    match = _AGE.match(text.strip().lower())
    if match is None:
        raise SettingsError(
            f"{what} {text!r} is not an age; use a whole number and a unit: "
            "m (minutes), h (hours), d (days) or w (weeks), e.g. 30d, 12h or 2w"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def default_max_age(settings: Settings, interval: str) -> timedelta:
    """CANDLECAST_MAX_MODEL_AGE candles (30: 30 days of 1d candles), the age forecasts warn at."""
    return settings.max_model_age * interval_step(interval)


def age_words(age: timedelta) -> str:
    """A readable age: '36 days', '1.5 days', '12 hours', '20 minutes'."""
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1))):
        if age >= size:
            count = f"{age / size:.1f}".removesuffix(".0")
            return f"{count} {unit}{'' if count == '1' else 's'}"
    minutes = round(age / timedelta(minutes=1))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def recorded_config(version: ModelVersion) -> TrainConfig | None:
    """The training config a served version recorded (None for versions that recorded none)."""
    record = version.metadata.get("config")
    return None if record is None else TrainConfig.from_dict(record)


def fitted_through(version: ModelVersion, interval: str) -> datetime | None:
    """When the last candle the version was fitted on closed (None when it does not say)."""
    value = version.metadata.get("trained_until")
    if not value:
        return None
    return (pd.Timestamp(value).tz_convert("UTC") + interval_step(interval)).to_pydatetime()


def plan(
    served: ModelVersion | None,
    *,
    symbol: str,
    interval: str,
    now: datetime,
    max_age: timedelta,
    last_candle: datetime | None,
    health: Health | None,
    fallback: TrainConfig = DEFAULT,
) -> Plan:
    """Refit when the served model is older than `max_age`, degraded, or missing; else nothing.

    `last_candle` is the open time of the series' newest feature row: with no candle closed
    since the served model's fitting data ended, a refit would learn nothing new.
    """
    series = f"{symbol} {interval}"
    if last_candle is None:
        error = (
            f"the store holds no {series} features; run "
            f"`candlecast backfill --symbols {symbol} --interval {interval}` first"
        )
        return Plan(symbol, interval, NONE, error, served, error=error)
    if served is None:
        return Plan(
            symbol,
            interval,
            REFIT,
            f"no model is served for {series} yet: training with the "
            f"{'default' if fallback == DEFAULT else 'fallback'} configuration",
            None,
            fallback,
        )
    label = f"{served.name} v{served.version}"
    try:
        config = recorded_config(served)
    except SettingsError as error:
        return Plan(symbol, interval, NONE, f"{label}: {error}", served, error=str(error))
    until = fitted_through(served, interval)
    fresh_data = until is None or last_candle + interval_step(interval) > until
    if until is None:
        age_text, too_old = "with no recorded fitting end", True
    else:
        age = max(now - until, timedelta(0))
        last = str(served.metadata["trained_until"])[:10]
        age_text = f"fitted through {last}, {age_words(age)} old (limit {age_words(max_age)})"
        too_old = age > max_age
    degraded = health is not None and bool(health.degraded)
    about = "; ".join([f"{label} {age_text}", *([health.words()] if health else [])])
    if not (too_old or degraded):
        return Plan(symbol, interval, NONE, f"{about}: nothing to do", served)
    if not fresh_data:
        return Plan(
            symbol,
            interval,
            NONE,
            f"{about}: nothing to do, no candle has closed since it was fitted (a refit would "
            f"learn nothing new; run `candlecast daily` to bring the features up to date)",
            served,
        )
    how = "its recorded configuration" if config else "the default configuration (none recorded)"
    return Plan(symbol, interval, REFIT, f"{about}: refit with {how}", served, config or fallback)


def plan_series(
    store: FeatureStore,
    registry: ModelRegistry,
    symbol: str,
    interval: str,
    *,
    now: datetime,
    max_age: timedelta,
    health: HealthCheck,
    fallback: TrainConfig = DEFAULT,
) -> Plan:
    """The plan for one series from what the store, the registry and the monitor hold now."""
    try:
        served: ModelVersion | None = served_version(registry, symbol, interval)
    except ModelNotFound:
        served = None
    return plan(
        served,
        symbol=symbol,
        interval=interval,
        now=now,
        max_age=max_age,
        last_candle=last_stored(store, symbol, interval, FEATURES),
        health=None if served is None else health(symbol, interval, served),
        fallback=fallback,
    )


def carry_out(
    settings: Settings,
    store: FeatureStore,
    registry: ModelRegistry,
    planned: Plan,
    *,
    dry_run: bool = False,
    progress: bool = False,
) -> Outcome:
    """Run the plan's refit (the whole training run of its config) and register the result.

    A refit that fails is reported, not raised, so the other series still run; what it
    registered before failing never replaces the served version (that is registered last).
    """
    if planned.action != REFIT or dry_run:
        return Outcome(planned, error=planned.error, dry_run=dry_run)
    from training_pipeline.joins import joins_of
    from training_pipeline.run import run

    assert planned.config is not None
    started = time.monotonic()
    logger.info("retrain %s %s: %s", planned.symbol, planned.interval, planned.reason)
    try:
        report = run(
            settings,
            store,
            registry,
            symbols=(planned.symbol,),
            interval=planned.interval,
            config=planned.config,
            progress=progress,
            extra={"retrain": planned.reason},
            # The joins the served version was trained with (recorded in its metadata).
            joins=joins_of(planned.served.metadata if planned.served else None),
        )
    except Exception as error:  # a failed series is reported and the others still run
        series = f"{planned.symbol} {planned.interval}"
        if isinstance(error, CandlecastError):  # its message says what to do
            logger.info("retrain of %s failed: %s", series, error)  # reported in the outcome
            message = str(error)
        else:
            logger.error("retrain of %s crashed", series, exc_info=error)
            message = f"{type(error).__name__}: {error}"
        return Outcome(planned, error=message, seconds=time.monotonic() - started)
    (series,) = report.series
    return Outcome(planned, new=series.served, seconds=time.monotonic() - started)


def retrain(
    settings: Settings,
    store: FeatureStore,
    registry: ModelRegistry,
    *,
    max_age: timedelta,
    health: HealthCheck,
    symbols: Sequence[str] | None = None,
    interval: str | None = None,
    dry_run: bool = False,
    progress: bool = False,
    on_plan: Callable[[Plan], None] | None = None,
    fallback: TrainConfig = DEFAULT,
) -> list[Outcome]:
    """Plan and carry out the retrain of every series of `symbols` (default: the settings'),
    one after another; `on_plan` hears each plan before it is carried out."""
    interval = interval or settings.interval
    outcomes = []
    for symbol in symbols or settings.symbols:
        planned = plan_series(
            store,
            registry,
            symbol,
            interval,
            now=settings.clock(),
            max_age=max_age,
            health=health,
            fallback=fallback,
        )
        if on_plan is not None:
            on_plan(planned)
        outcome = carry_out(settings, store, registry, planned, dry_run=dry_run, progress=progress)
        outcomes.append(outcome)
    return outcomes


def version_summary(version: ModelVersion | None) -> dict[str, Any] | None:
    """Name, version, kind and fitting end of a registered version, for reports."""
    if version is None:
        return None
    return {
        "name": version.name,
        "version": version.version,
        "kind": version.metadata.get("kind"),
        "trained_until": version.metadata.get("trained_until"),
    }
