"""The storage contracts: feature groups, the feature store and the model registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

# A series' "best" model is the version its newest training run serves. Each run registers that
# version with this metric, the run's start in epoch seconds, so the highest one wins; which
# configuration is served is decided on the selection period (training_pipeline.selection).
# Test-period numbers never pick a model.
SERVED_METRIC = "served_at"


@dataclass(frozen=True)
class FeatureGroupSpec:
    """What a feature group is: name, version, Arrow schema, primary key and event-time column."""

    name: str
    version: int
    schema: pa.Schema
    primary_key: tuple[str, ...] = ("symbol", "interval", "open_time")
    event_time: str = "open_time"
    partition_by: tuple[str, ...] = ("symbol", "interval")
    description: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in (*self.primary_key, self.event_time) if c not in self.schema.names]
        if missing:
            raise ValueError(
                f"feature group {self.name}: key columns {missing} are not in the schema"
            )

    @property
    def table_name(self) -> str:
        return f"{self.name}_v{self.version}"


@dataclass(frozen=True)
class WriteResult:
    """What one upsert did."""

    inserted: int
    updated: int
    table_version: int


@dataclass(frozen=True)
class SeriesSummary:
    """One (symbol, interval) series inside a feature group."""

    symbol: str
    interval: str
    rows: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class ColumnStats:
    count: int
    nulls: int
    min: Any
    max: Any


class FeatureStore(Protocol):
    """Feature groups keyed by (symbol, interval, open_time): upsert, read, statistics."""

    backend: str
    uri: str

    def ensure(self, spec: FeatureGroupSpec) -> None:
        """Create the group if missing; raise StoreError if it exists with another schema."""

    def list_groups(self) -> list[FeatureGroupSpec]:
        """Every feature group (all versions) in the store."""

    def upsert(self, spec: FeatureGroupSpec, frame: pd.DataFrame) -> WriteResult:
        """Validate, cast to the schema and merge on the primary key; all or nothing."""

    def read(
        self,
        spec: FeatureGroupSpec,
        *,
        symbol: str | None = None,
        interval: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        columns: Sequence[str] | None = None,
        as_of_version: int | None = None,
    ) -> pd.DataFrame:
        """Rows with start <= event_time <= end, sorted by primary key (empty frame if none)."""

    def latest(
        self,
        spec: FeatureGroupSpec,
        *,
        symbol: str,
        interval: str,
        n: int,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The last n rows of one series by event time, oldest first."""

    def table_version(self, spec: FeatureGroupSpec) -> int:
        """The current version of the group's table (grows with every write)."""

    def statistics(self, spec: FeatureGroupSpec) -> dict[str, ColumnStats]:
        """Per column: count, nulls, min, max."""

    def series(self, spec: FeatureGroupSpec) -> list[SeriesSummary]:
        """Row count and first/last event time per (symbol, interval)."""

    def fingerprint(self, spec: FeatureGroupSpec) -> str:
        """A hash of the content, independent of write order and table version."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version; `path` is a local directory holding its bundle."""

    name: str
    version: int
    created: datetime
    metrics: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


class ModelRegistry(Protocol):
    """Versioned model bundles with metrics and metadata."""

    backend: str

    def register(
        self,
        name: str,
        model_dir: Path,
        metrics: Mapping[str, float],
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store a copy of model_dir as the next version of name; atomic."""

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """One version (the latest when version is None); raises ModelNotFound."""

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """All versions (of one name, or of every name), oldest first."""

    def best(
        self,
        metric: str = SERVED_METRIC,
        *,
        direction: str = "max",
        where: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """The version with the best metric among those whose metadata matches `where`."""


def served_version(registry: ModelRegistry, symbol: str, interval: str) -> ModelVersion:
    """The version the newest training run of the series serves; raises ModelNotFound."""
    return registry.best(
        SERVED_METRIC, direction="max", where={"symbol": symbol, "interval": interval}
    )
