"""DuckDB over the Delta tables' pyarrow datasets: SQL pieces, connections and results."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from candlecast.errors import ValidationError
from feature_store.base import FeatureGroupSpec
from feature_store.delta_tables import plain_schema, quote
from feature_store.ordering import SortedRuns

if TYPE_CHECKING:
    import duckdb


def select_columns(spec: FeatureGroupSpec, columns: Sequence[str] | None) -> list[str]:
    """The columns to return (all by default); raises ValidationError naming unknown ones."""
    if columns is None:
        return list(spec.schema.names)
    unknown = [c for c in columns if c not in spec.schema.names]
    if unknown:
        raise ValidationError(
            f"feature group {spec.table_name} has no column(s) {unknown}; "
            f"choose from {spec.schema.names}"
        )
    return list(columns)


def where_clause(
    spec: FeatureGroupSpec,
    symbol: str | None,
    interval: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (or "") and its parameters for a series and event-time range."""
    clauses, params = [], []
    event = quote(spec.event_time)
    for clause, value in (
        ("symbol = ?", symbol),
        ('"interval" = ?', interval),
        (f"{event} >= ?", as_utc(start)),
        (f"{event} <= ?", as_utc(end)),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def as_utc(value: datetime | None) -> datetime | None:
    """A time as tz-aware UTC (naive times are taken as UTC)."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    ).to_pydatetime()


def to_frame(
    table: pa.Table, runs: SortedRuns | None, spec: FeatureGroupSpec, names: list[str]
) -> pd.DataFrame:
    """The rows as pandas (times tz-aware UTC), partition columns rebuilt from the runs."""
    frame = table.cast(_schema_of(spec, table.column_names)).to_pandas()
    if runs is not None:
        for position, name in enumerate(names):
            if name in spec.partition_by:
                frame.insert(position, name, runs.pandas_column(name))
    return frame


def to_arrow(
    table: pa.Table, runs: SortedRuns | None, spec: FeatureGroupSpec, names: list[str]
) -> pa.Table:
    """The rows as Arrow with exactly the spec's types, partition columns rebuilt from runs."""
    table = table.cast(_schema_of(spec, table.column_names))
    if runs is not None:
        for position, name in enumerate(names):
            if name in spec.partition_by:
                data_type = spec.schema.field(name).type
                table = table.add_column(position, name, runs.arrow_column(name, data_type))
    return table.cast(_schema_of(spec, names))


def _schema_of(spec: FeatureGroupSpec, names: Sequence[str]) -> pa.Schema:
    return plain_schema(pa.schema([spec.schema.field(n) for n in names]))


def select_list(names: Sequence[str]) -> str:
    """Quoted column names for a SELECT."""
    return ", ".join(quote(n) for n in names)


_DATABASE: dict[int, duckdb.DuckDBPyConnection] = {}
_DATABASE_LOCK = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh connection (own registrations) to one in-memory DuckDB per process."""
    import duckdb

    with _DATABASE_LOCK:
        database = _DATABASE.get(os.getpid())  # a forked child must not reuse its parent's
        if database is None:
            _DATABASE.clear()
            database = duckdb.connect()
            database.execute("SET GLOBAL TimeZone = 'UTC'")
            _DATABASE[os.getpid()] = database
        return database.cursor()
