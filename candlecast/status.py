"""What is in the feature store and the model registry, as a JSON-ready dict or a table."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from feature_store.base import (
    SERVED_METRIC,
    FeatureGroupSpec,
    FeatureStore,
    ModelRegistry,
    ModelVersion,
)
from feature_store.local_registry import pick_best


def collect_status(
    store: FeatureStore,
    registry: ModelRegistry,
    progress: Callable[[list[FeatureGroupSpec]], Iterable[FeatureGroupSpec]] = iter,
) -> dict[str, Any]:
    """The `candlecast status --json` document: store, feature groups and models.

    `progress` wraps the list of groups (e.g. in a progress bar); each group is read in full
    for its fingerprint.
    """
    return {
        "store": {"backend": store.backend, "uri": store.uri},
        "feature_groups": [_group(store, spec) for spec in progress(store.list_groups())],
        "models": models_status(registry.list()),
    }


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
    series: dict[tuple[Any, Any], list[ModelVersion]] = {}
    for version in versions:
        if math.isfinite(version.metrics.get(SERVED_METRIC, math.nan)):
            key = (version.metadata.get("symbol"), version.metadata.get("interval"))
            series.setdefault(key, []).append(version)
    return [pick_best(candidates, SERVED_METRIC, direction="max") for candidates in series.values()]


def render_status(status: dict[str, Any]) -> str:
    """A readable multi-line summary of a `collect_status` document."""
    store = status["store"]
    lines = [f"store: {store['backend']} at {store['uri']}", ""]
    groups = status["feature_groups"]
    if not groups:
        lines.append("feature groups: none yet (run `candlecast backfill`)")
    for group in groups:
        lines.append(
            f"feature group {group['name']} v{group['version']}: {group['rows']:,} rows, "
            f"fingerprint {group['fingerprint'][:12]}"
        )
        lines.append(f"  {'symbol':<12}{'interval':<10}{'rows':>8}  {'first':<20}{'last':<20}")
        for s in group["series"]:
            lines.append(
                f"  {s['symbol']:<12}{s['interval']:<10}{s['rows']:>8}  "
                f"{_short(s['first']):<20}{_short(s['last']):<20}"
            )
    lines.append("")
    lines += _models_table(status["models"])
    return "\n".join(lines)


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


def _models_table(models: list[dict[str, Any]]) -> list[str]:
    if not models:
        return ["models: none registered yet (run `candlecast train`)"]
    lines = [
        "models (* = served for its symbol and interval; sel MAE / sel W: selection-period MAE "
        "and interval score as ratios to no change and its empirical band)",
        f"  {'':2}{'name':<28}{'version':>8}  {'role':<10}{'created':<18}{'fitted through':<16}"
        f"{'sel MAE':>8}{'sel W':>8}",
    ]
    for m in models:
        mark = "*" if m["best"] else ""
        lines.append(
            f"  {mark:<2}{m['name']:<28}{m['version']:>8}  {m.get('role') or '-':<10}"
            f"{_short(m['created']):<18}{str(m.get('trained_until') or '-')[:10]:<16}"
            f"{_score(m['metrics'].get('sel_mae_ratio')):>8}"
            f"{_score(m['metrics'].get('sel_winkler_ratio')):>8}"
        )
    return lines


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _short(iso: str) -> str:
    return iso.replace("T", " ")[:16]
