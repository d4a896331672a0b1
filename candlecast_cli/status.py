"""`candlecast status`: what is in the feature store and the model registry."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from candlecast.settings import Settings

if TYPE_CHECKING:  # the store's modules (pandas, pyarrow) load when a command runs, not at --help
    from feature_store.base import FeatureGroupSpec, FeatureStore, ModelRegistry, ModelVersion


def collect_status(
    store: FeatureStore,
    registry: ModelRegistry,
    progress: Callable[[list[FeatureGroupSpec]], Iterable[FeatureGroupSpec]] = iter,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The `candlecast status --json` document: store, feature groups, models, and per series
    the served model's age and live figures.

    `progress` wraps the list of groups (e.g. in a progress bar); each group is read in full
    for its fingerprint.
    """
    versions = registry.list()
    return {
        "store": {"backend": store.backend, "uri": store.uri},
        "feature_groups": [_group(store, spec) for spec in progress(store.list_groups())],
        "models": models_status(versions),
        "served": served_status(store, versions, now or datetime.now(UTC)),
    }


def served_status(
    store: FeatureStore, versions: list[ModelVersion], now: datetime
) -> list[dict[str, Any]]:
    """Per series with a served model: its version, age, and the live monitor's h = 1 figures
    over the last 30 scored forecasts."""
    from daily_pipeline.monitor import RULE_HORIZON, RULE_WINDOW, monitor_series, scored
    from training_pipeline.retrain import fitted_through

    rows = []
    for version in best_per_series(versions):
        symbol, interval = version.metadata.get("symbol"), version.metadata.get("interval")
        until = version.metadata.get("trained_until")
        closed = fitted_through(version, interval)  # the age `retrain` judges
        age = None if closed is None else (now - closed).total_seconds() / 86400
        outcomes, _ = scored(store, symbol, interval)
        report = monitor_series(outcomes, symbol, interval, version.name)
        figure = report.figure(version.name, RULE_HORIZON, RULE_WINDOW)
        rows.append(
            {
                "symbol": symbol,
                "interval": interval,
                "model": version.name,
                "version": version.version,
                "trained_until": until,
                "age_days": None if age is None else round(age, 1),
                "live": {**(figure.to_dict() if figure else {}), "degraded": report.is_degraded},
                "reasons": list(report.degraded),
                "note": report.note,
            }
        )
    return rows


def models_status(versions: list[ModelVersion]) -> list[dict[str, Any]]:
    """Every model version; `best` marks the version each (symbol, interval) serves."""
    best = {id(v) for v in best_per_series(versions)}
    return [
        {
            "name": v.name,
            "version": v.version,
            "created": iso_utc(v.created),
            "kind": v.metadata.get("kind"),
            "role": v.metadata.get("role"),
            "trained_until": v.metadata.get("trained_until"),
            "metrics": {k: _json_number(x) for k, x in v.metrics.items()},
            "best": id(v) in best,
        }
        for v in versions
    ]


def best_per_series(versions: Iterable[ModelVersion]) -> list[ModelVersion]:
    """The version the registry serves for each (symbol, interval): the newest run's served one."""
    from feature_store.base import SERVED_METRIC
    from feature_store.versions import pick_best

    series: dict[tuple[Any, Any], list[ModelVersion]] = {}
    for version in versions:
        if math.isfinite(version.metrics.get(SERVED_METRIC, math.nan)):
            key = (version.metadata.get("symbol"), version.metadata.get("interval"))
            series.setdefault(key, []).append(version)
    return [pick_best(candidates, SERVED_METRIC, direction="max") for candidates in series.values()]


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a 'Z' suffix (naive times are taken as UTC)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _group(store: FeatureStore, spec: FeatureGroupSpec) -> dict[str, Any]:
    series = store.series(spec)
    return {
        "name": spec.name,
        "version": spec.version,
        "rows": sum(s.rows for s in series),
        "fingerprint": store.fingerprint(spec),
        "series": [
            {
                "symbol": s.symbol,
                "interval": s.interval,
                "rows": s.rows,
                "first": iso_utc(s.first),
                "last": iso_utc(s.last),
            }
            for s in series
        ],
    }


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


STATUS_HELP = (
    "Show what is in the feature store and the model registry.\n\n"
    "Lists every feature group with its row count, content fingerprint and the first/last "
    "open time of each symbol/interval series, then every registered model version with its "
    "role, the last candle it was fitted on and its selection-period figures; `best` marks the "
    "version the newest training run of each symbol and interval serves. Last, per series, the "
    "served model's age (days since the last candle it was fitted on closed) and its live figures: "
    "over its last 30 scored h = 1 forecasts, the MAE and interval-score ratios to no change, "
    "the band's coverage, and whether `candlecast monitor` flags it degraded. The store and "
    "registry come from CANDLECAST_STORE, CANDLECAST_HOME, CANDLECAST_STORE_URI and "
    "CANDLECAST_REGISTRY_URI."
)


def status(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document (store, feature_groups, models) for scripts instead "
            "of the table.",
        ),
    ] = False,
) -> None:
    """Show what is in the feature store and the model registry."""
    from candlecast_cli.render import render_status
    from feature_store import open_registry, open_store

    settings = Settings.from_env()
    document = collect_status(
        open_store(settings), open_registry(settings), _progress, now=settings.clock()
    )
    typer.echo(json.dumps(document, indent=2) if as_json else render_status(document))


def _progress(groups: list[FeatureGroupSpec]) -> Iterable[FeatureGroupSpec]:
    """A progress bar on stderr over the groups being read (hidden when stderr is no terminal)."""
    from tqdm import tqdm

    return tqdm(groups, desc="reading feature groups", unit="group", file=sys.stderr, disable=None)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("status", help=STATUS_HELP)(status)
