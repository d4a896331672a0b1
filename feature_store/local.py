"""The embedded feature store: one Delta Lake table per feature group, queried with DuckDB."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from candlecast.errors import FeatureGroupNotFound, StoreError
from feature_store.base import ColumnStats, FeatureGroupSpec, SeriesSummary, WriteResult
from feature_store.delta_tables import (
    annotated_schema,
    changed_predicate,
    check_same_schema,
    first_line,
    merge_predicate,
    quote,
    spec_from_table,
    with_retries,
)
from feature_store.fingerprint import content_fingerprint
from feature_store.ordering import (
    RUN,
    SortedRuns,
    prefix_partitioned,
    sort_runs,
    tag_partitions,
)
from feature_store.query import (
    connect,
    select_columns,
    select_list,
    to_arrow,
    to_frame,
    where_clause,
)
from feature_store.storage import (
    list_table_names,
    normalise_uri,
    table_uri,
)
from feature_store.validate import conform

if TYPE_CHECKING:
    from deltalake import DeltaTable

logger = logging.getLogger(__name__)


class LocalFeatureStore:
    """Feature groups as Delta tables under a folder or an s3:// prefix."""

    backend = "local"

    def __init__(self, uri: str, storage_options: Mapping[str, str] | None = None) -> None:
        """Options for an s3:// URI come from `storage.s3_options(settings.aws_storage)`."""
        self.uri = normalise_uri(uri)
        self._options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"LocalFeatureStore({self.uri!r})"

    # -- groups -------------------------------------------------------------------------------

    def ensure(self, spec: FeatureGroupSpec) -> None:
        """Create the group's table if missing; raise StoreError if it has another schema."""
        existing = self._try_open(spec)
        if existing is None:
            existing = self._create(spec)
        check_same_schema(spec, existing)

    def list_groups(self) -> list[FeatureGroupSpec]:
        """Every feature group (all versions) found under the store's root."""
        specs = []
        for name in list_table_names(self.uri, self._options):
            table = self._load(table_uri(self.uri, name))
            spec = spec_from_table(name, table)
            if spec is None:
                logger.warning("skipping %s: not a candlecast feature group", name)
            else:
                specs.append(spec)
        return specs

    def table_version(self, spec: FeatureGroupSpec) -> int:
        """The current version of the group's table."""
        return self._open(spec).version()

    # -- writes -------------------------------------------------------------------------------

    def upsert(self, spec: FeatureGroupSpec, frame: pd.DataFrame) -> WriteResult:
        """Validate and cast the frame, then merge it on the primary key in one commit."""
        data = conform(spec, frame)
        self.ensure(spec)
        if data.num_rows == 0:
            return WriteResult(inserted=0, updated=0, table_version=self.table_version(spec))
        predicate = merge_predicate(spec, data)
        changed = changed_predicate(spec)

        def merge() -> WriteResult:
            table = self._open(spec)
            merger = table.merge(data, predicate, source_alias="s", target_alias="t")
            if changed:  # rows equal to the stored ones are left alone (no rewrite, no commit)
                merger = merger.when_matched_update_all(predicate=changed)
            metrics = merger.when_not_matched_insert_all().execute()
            return WriteResult(
                inserted=int(metrics["num_target_rows_inserted"]),
                updated=int(metrics["num_target_rows_updated"]),
                table_version=table.version(),
            )

        result = with_retries(merge, f"upsert into {spec.table_name}")
        logger.info("upsert %s: %s", spec.table_name, result)
        return result

    # -- reads --------------------------------------------------------------------------------

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
        where, params = where_clause(spec, symbol, interval, start, end)
        table, runs = self._read_sorted(spec, names, where, params, as_of_version, symbol, interval)
        return to_frame(table, runs, spec, names)

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
        where, params = where_clause(spec, symbol, interval, None, None)
        event = quote(spec.event_time)
        sql = (
            f"SELECT {select_list(names)} FROM (SELECT * FROM t {where} ORDER BY {event} DESC "
            f"LIMIT {int(n)}) ORDER BY {event}"
        )
        table = self._query(spec, sql, params, None, symbol=symbol, interval=interval)
        return to_frame(table, None, spec, names)

    def statistics(self, spec: FeatureGroupSpec) -> dict[str, ColumnStats]:
        """Per column: non-null count, nulls, min and max."""
        parts = [
            f"count({quote(n)}), count(*) - count({quote(n)}), min({quote(n)}), max({quote(n)})"
            for n in spec.schema.names
        ]
        table = self._query(spec, f"SELECT {', '.join(parts)} FROM t", [], None)
        row = [table.column(i)[0].as_py() for i in range(table.num_columns)]
        return {
            name: ColumnStats(
                count=row[4 * i], nulls=row[4 * i + 1], min=row[4 * i + 2], max=row[4 * i + 3]
            )
            for i, name in enumerate(spec.schema.names)
        }

    def series(self, spec: FeatureGroupSpec) -> list[SeriesSummary]:
        """Row count and first/last event time per (symbol, interval)."""
        event = quote(spec.event_time)
        sql = (
            f'SELECT symbol, "interval", count(*), min({event}), max({event}) FROM t '
            'GROUP BY symbol, "interval" ORDER BY symbol, "interval"'
        )
        table = self._query(spec, sql, [], None)
        return [
            SeriesSummary(*(v.as_py() for v in row)) for row in zip(*table.columns, strict=True)
        ]

    def fingerprint(self, spec: FeatureGroupSpec) -> str:
        """sha256 of the content sorted by primary key: equal content, equal fingerprint."""
        names = spec.schema.names
        table, runs = self._read_sorted(spec, names, "", [], None, None, None)
        return content_fingerprint(to_arrow(table, runs, spec, names))

    # -- plumbing -----------------------------------------------------------------------------

    def _table_uri(self, spec: FeatureGroupSpec) -> str:
        return table_uri(self.uri, spec.table_name)

    def _load(self, uri: str, version: int | None = None) -> DeltaTable:
        from deltalake import DeltaTable
        from deltalake.exceptions import DeltaError, TableNotFoundError

        try:
            return DeltaTable(uri, version=version, storage_options=self._options or None)
        except TableNotFoundError:
            raise
        except DeltaError as error:
            what = "the table" if version is None else f"table version {version}"
            raise StoreError(
                f"cannot open {what} at {uri}: {first_line(error)}; check the location "
                "(`candlecast status` lists the groups and their versions)"
            ) from None

    def _try_open(self, spec: FeatureGroupSpec, version: int | None = None) -> DeltaTable | None:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        uri = self._table_uri(spec)
        if not DeltaTable.is_deltatable(uri, storage_options=self._options or None):
            return None
        try:
            return self._load(uri, version)
        except TableNotFoundError:
            return None

    def _open(self, spec: FeatureGroupSpec, version: int | None = None) -> DeltaTable:
        table = self._try_open(spec, version)
        if table is None:
            raise FeatureGroupNotFound(
                f"feature group {spec.table_name} does not exist in {self.uri}; "
                "run `candlecast backfill` to create and fill it"
            )
        return table

    def _create(self, spec: FeatureGroupSpec) -> DeltaTable:
        from deltalake import DeltaTable
        from deltalake.exceptions import DeltaError

        try:
            return DeltaTable.create(
                self._table_uri(spec),
                annotated_schema(spec),
                mode="error",
                partition_by=list(spec.partition_by) or None,
                name=spec.table_name,
                description=spec.description or None,
                storage_options=self._options or None,
            )
        except DeltaError:
            table = self._try_open(spec)  # another process created it first
            if table is None:
                raise
            return table

    def _read_sorted(
        self,
        spec: FeatureGroupSpec,
        names: list[str],
        where: str,
        params: list[Any],
        version: int | None,
        symbol: str | None,
        interval: str | None,
    ) -> tuple[pa.Table, SortedRuns | None]:
        """The selected columns in primary-key order; with runs, partition columns are left out.

        See ordering.py for the fast path; other layouts use ORDER BY.
        """
        dataset = self._dataset(spec, version, symbol, interval)
        scan = None
        if prefix_partitioned(spec.primary_key, spec.partition_by):
            scan = tag_partitions(dataset, spec.partition_by)
        if scan is None:
            order = ", ".join(quote(k) for k in spec.primary_key)
            sql = f"SELECT {select_list(names)} FROM t {where} ORDER BY {order}"
            return self._execute(spec, dataset, sql, params), None
        last = spec.primary_key[-1]
        inner = [n for n in names if n not in spec.partition_by]
        wanted = [RUN, *inner, *([last] if last not in inner else [])]
        raw = self._execute(
            spec, scan.dataset, f"SELECT {select_list(wanted)} FROM t {where}", params
        )
        runs = sort_runs(raw, scan, spec.partition_by, last)
        return runs.table.select(inner), runs

    def _query(
        self,
        spec: FeatureGroupSpec,
        sql: str,
        params: list[Any],
        version: int | None,
        *,
        symbol: str | None = None,
        interval: str | None = None,
    ) -> pa.Table:
        dataset = self._dataset(spec, version, symbol, interval)
        return self._execute(spec, dataset, sql, params)

    def _dataset(
        self,
        spec: FeatureGroupSpec,
        version: int | None,
        symbol: str | None,
        interval: str | None,
    ) -> ds.Dataset:
        """The group's files at a version as a pyarrow dataset, pruned to the asked partitions."""
        from deltalake.exceptions import DeltaError

        table = self._open(spec, version)
        partitions = [
            (column, "=", value)
            for column, value in (("symbol", symbol), ("interval", interval))
            if value is not None and column in spec.partition_by
        ]
        try:
            return table.to_pyarrow_dataset(file_pruning_predicate=partitions or None)
        except (DeltaError, OSError, pa.ArrowException) as error:
            raise StoreError(
                f"reading feature group {spec.table_name} failed: {first_line(error)}"
            ) from error

    def _execute(
        self, spec: FeatureGroupSpec, dataset: ds.Dataset, sql: str, params: list[Any]
    ) -> pa.Table:
        """Run one DuckDB query over the dataset, registered as `t`."""
        import duckdb

        try:
            with connect() as connection:
                connection.register("t", dataset)
                return connection.sql(sql, params=params or None).to_arrow_table()
        except (duckdb.Error, OSError, pa.ArrowException) as error:
            raise StoreError(
                f"reading feature group {spec.table_name} failed: {first_line(error)}"
            ) from error
