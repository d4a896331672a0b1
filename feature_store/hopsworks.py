"""The Hopsworks feature store adapter: feature groups, reads, versions and feature views.

Writes go through stream feature groups: `insert` sends the rows to the group's Kafka topic
and Hopsworks' materialisation job writes them into the offline (Delta) table. `upsert` waits
for that job and fails unless it finished, so rows are readable offline when `upsert` returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from candlecast.errors import FeatureGroupNotFound, StoreError
from feature_store.base import ColumnStats, FeatureGroupSpec, SeriesSummary, WriteResult
from feature_store.fingerprint import content_fingerprint
from feature_store.hopsworks_frames import read_condition, typed_frame, within
from feature_store.hopsworks_login import host_name, login, sdk_boundary
from feature_store.hopsworks_registry import HopsworksModelRegistry
from feature_store.hopsworks_schema import check_same_schema, hopsworks_features, spec_from_group
from feature_store.query import as_utc, select_columns
from feature_store.validate import conform

if TYPE_CHECKING:
    from candlecast.settings import Settings

__all__ = ["HopsworksFeatureStore", "HopsworksModelRegistry", "login"]

logger = logging.getLogger(__name__)

# Offline time travel comes from Delta commits; the Kafka path needs no client-side delta-rs.
TIME_TRAVEL_FORMAT = "DELTA"
FINISHED = "FINISHED"


class HopsworksFeatureStore:
    """Feature groups in a Hopsworks project's feature store, one per spec name and version."""

    backend = "hopsworks"

    def __init__(self, feature_store: Any, *, uri: str, online: bool = False) -> None:
        self._fs = feature_store
        self.uri = uri
        self._online = online
        self._groups: dict[str, Any] = {}

    @classmethod
    def connect(cls, settings: Settings) -> HopsworksFeatureStore:
        """Log in with the settings' project, API key and host; use the project's feature store."""
        project = login(settings)
        uri = f"hopsworks://{host_name(settings)}/{settings.hopsworks_project}"
        return cls(project.get_feature_store(), uri=uri)

    def __repr__(self) -> str:
        return f"HopsworksFeatureStore({self.uri!r})"

    # -- groups -------------------------------------------------------------------------------

    @sdk_boundary("create feature group")
    def ensure(self, spec: FeatureGroupSpec) -> None:
        """Create the group if missing; raise StoreError if it exists with another schema."""
        self._group(spec, create=True)

    @sdk_boundary("list feature groups")
    def list_groups(self) -> list[FeatureGroupSpec]:
        """Every feature group (all versions) whose features map to Arrow types."""
        specs = []
        for group in self._fs.get_feature_groups():
            spec = spec_from_group(group)
            if spec is None:
                logger.warning("skipping %s_v%s: not a candlecast feature group", *_ident(group))
            else:
                specs.append(spec)
        return sorted(specs, key=lambda s: (s.name, s.version))

    @sdk_boundary("read the commits of a feature group")
    def table_version(self, spec: FeatureGroupSpec) -> int:
        """The number of offline commits: 0 for a new group, +1 per materialised write."""
        return len(self._commits(self._group(spec)))

    # -- writes -------------------------------------------------------------------------------

    @sdk_boundary("write to a feature group")
    def upsert(self, spec: FeatureGroupSpec, frame: pd.DataFrame) -> WriteResult:
        """Validate and cast, insert as an upsert and wait until the rows are offline."""
        data = conform(spec, frame)
        group = self._group(spec, create=True)
        if data.num_rows == 0:
            return WriteResult(inserted=0, updated=0, table_version=self.table_version(spec))
        changes, inserted, updated = self._changes(spec, data)
        if len(changes):
            self._insert(spec, group, changes)
        result = WriteResult(
            inserted=inserted, updated=updated, table_version=self.table_version(spec)
        )
        logger.info("upsert %s: %s", spec.table_name, result)
        return result

    # -- reads --------------------------------------------------------------------------------

    @sdk_boundary("read a feature group")
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
        """Rows with start <= event_time <= end, sorted by primary key."""
        names = select_columns(spec, columns)
        group = self._group(spec)
        wanted = list(dict.fromkeys([*spec.primary_key, spec.event_time, *names]))
        has_rows, as_of = self._snapshot(spec, group, as_of_version)
        if not has_rows:  # a new group has no offline table to query yet
            raw = pd.DataFrame(columns=wanted)
        else:
            query = group.select(wanted)
            condition = read_condition(group, spec, symbol, interval, start, end)
            if condition is not None:
                query = query.filter(condition)
            if as_of is not None:
                query = query.as_of(as_of)
            raw = query.read(dataframe_type="pandas")
        frame = typed_frame(raw, spec, wanted)
        frame = within(frame, spec.event_time, as_utc(start), as_utc(end))
        frame = frame.sort_values(list(spec.primary_key), kind="stable").reset_index(drop=True)
        return frame[names]

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
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        names = select_columns(spec, columns)
        event = spec.event_time
        times = self.read(spec, symbol=symbol, interval=interval, columns=[event])[event]
        start = times.iloc[max(len(times) - n, 0)] if n and len(times) else None
        if start is None:
            return self.read(spec, columns=names).iloc[:0]
        wanted = list(dict.fromkeys([event, *names]))
        rows = self.read(spec, symbol=symbol, interval=interval, start=start, columns=wanted)
        return rows.sort_values(event, kind="stable").tail(n)[names].reset_index(drop=True)

    def statistics(self, spec: FeatureGroupSpec) -> dict[str, ColumnStats]:
        """Per column: non-null count, nulls, min and max, computed exactly from the rows."""
        table = self._table(spec)
        stats = {}
        for name in spec.schema.names:
            column = table[name]
            bounds = pc.min_max(column)
            stats[name] = ColumnStats(
                count=len(column) - column.null_count,
                nulls=column.null_count,
                min=bounds["min"].as_py(),
                max=bounds["max"].as_py(),
            )
        return stats

    def series(self, spec: FeatureGroupSpec) -> list[SeriesSummary]:
        """Row count and first/last event time per (symbol, interval)."""
        frame = self.read(
            spec, columns=list(dict.fromkeys(["symbol", "interval", spec.event_time]))
        )
        if frame.empty:
            return []
        groups = frame.groupby(["symbol", "interval"], sort=True)[spec.event_time]
        summary = groups.agg(["count", "min", "max"]).reset_index()
        return [
            SeriesSummary(
                r.symbol, r.interval, int(r.count), r.min.to_pydatetime(), r.max.to_pydatetime()
            )
            for r in summary.itertuples(index=False)
        ]

    def fingerprint(self, spec: FeatureGroupSpec) -> str:
        """sha256 of the content sorted by primary key, exactly as the local store computes it."""
        return content_fingerprint(self._table(spec))

    # -- plumbing -----------------------------------------------------------------------------

    def _group(self, spec: FeatureGroupSpec, *, create: bool = False) -> Any:
        group = self._groups.get(spec.table_name)
        if group is None:
            group = (
                self._create(spec)
                if create
                else self._fs.get_feature_group(spec.name, version=spec.version)
            )
            if group is None:
                raise FeatureGroupNotFound(
                    f"feature group {spec.table_name} does not exist in {self.uri}; "
                    "run `candlecast backfill` to create and fill it"
                )
            self._groups[spec.table_name] = group
        check_same_schema(spec, group)
        return group

    def _create(self, spec: FeatureGroupSpec) -> Any:
        group = self._fs.get_or_create_feature_group(
            name=spec.name,
            version=spec.version,
            description=spec.description,
            online_enabled=self._online,
            time_travel_format=TIME_TRAVEL_FORMAT,
            primary_key=list(spec.primary_key),
            partition_key=list(spec.partition_by),
            event_time=spec.event_time,
            features=hopsworks_features(spec),
            stream=True,
        )
        if group.id is None:  # a new group: register its metadata before the first insert
            group.save(features=hopsworks_features(spec))
            logger.info("created feature group %s in %s", spec.table_name, self.uri)
        return group

    def _insert(self, spec: FeatureGroupSpec, group: Any, frame: pd.DataFrame) -> None:
        job, _ = group.insert(
            frame,
            operation="upsert",
            write_options={"wait_for_job": True, "start_offline_materialization": True},
        )
        if job is None:
            return
        state = job.get_final_state()
        if state != FINISHED:
            raise StoreError(
                f"the materialisation job of {spec.table_name} ended {state}; the rows are in the "
                "group's Kafka topic but not offline. Open the job's logs in Hopsworks, fix it "
                "and run the command again (the upsert is idempotent)"
            )

    def _commits(self, group: Any) -> list[int]:
        return sorted(int(commit) for commit in group.commit_details())

    def _snapshot(
        self, spec: FeatureGroupSpec, group: Any, version: int | None
    ) -> tuple[bool, int | None]:
        """(whether there are rows to read, the commit time to read as of; None: the latest)."""
        commits = self._commits(group)
        if version is None:
            return bool(commits), None
        if not 0 <= version <= len(commits):
            raise StoreError(
                f"feature group {spec.table_name}: cannot open table version {version}; "
                f"it has versions 0..{len(commits)} (see `candlecast status`)"
            )
        return version > 0, commits[version - 1] if version else None

    def _changes(self, spec: FeatureGroupSpec, data: pa.Table) -> tuple[pd.DataFrame, int, int]:
        """The frame's new rows and rows whose values differ from the stored ones, and counts."""
        incoming = data.to_pandas()
        key = list(spec.primary_key)
        events = incoming[spec.event_time]
        stored = pd.concat(
            [
                self.read(
                    spec,
                    symbol=symbol,
                    start=events.min().to_pydatetime(),
                    end=events.max().to_pydatetime(),
                )
                for symbol in (incoming["symbol"].unique() if "symbol" in incoming else [None])
            ],
            ignore_index=True,
        )
        merged = incoming.merge(
            stored, on=key, how="left", suffixes=("", "__stored"), indicator=True
        )
        new = (merged["_merge"] == "left_only").to_numpy()
        differs = np.zeros(len(merged), dtype=bool)
        for name in (n for n in spec.schema.names if n not in key):
            ours, theirs = merged[name], merged[f"{name}__stored"]
            differs |= ~((ours == theirs) | (ours.isna() & theirs.isna())).to_numpy()
        changed = differs & ~new
        return incoming[new | changed].reset_index(drop=True), int(new.sum()), int(changed.sum())

    def _table(self, spec: FeatureGroupSpec) -> pa.Table:
        frame = self.read(spec)
        return pa.Table.from_pandas(frame, preserve_index=False).cast(spec.schema.remove_metadata())


def _ident(group: Any) -> tuple[str, Any]:
    return group.name, group.version
