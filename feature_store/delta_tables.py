"""Delta Lake details of the local store: spec metadata, merge predicates and commit retries."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from candlecast.errors import StoreError, ValidationError
from feature_store.base import FeatureGroupSpec

if TYPE_CHECKING:
    from deltalake import DeltaTable

logger = logging.getLogger(__name__)

# Field metadata that keeps the spec recoverable from the table alone (Delta rejects custom
# table properties, but keeps per-field metadata).
KEY_META = "candlecast.primary_key_position"
EVENT_META = "candlecast.event_time"
_TABLE_NAME = re.compile(r"^(?P<name>.+)_v(?P<version>\d+)$")
MAX_ATTEMPTS = 30
# deltalake re-parses the merge predicate unquoted when it checks a concurrent commit, so a
# column named after an SQL keyword makes that check fail; such columns are not pinned.
_UNPINNABLE = {"interval", "time", "date", "timestamp", "order", "group", "select", "where"}
T = TypeVar("T")


def annotated_schema(spec: FeatureGroupSpec) -> pa.Schema:
    """The spec's schema with the primary key and event time recorded as field metadata."""
    fields = []
    for field in spec.schema:
        meta = dict(field.metadata or {})
        if field.name in spec.primary_key:
            meta[KEY_META.encode()] = str(spec.primary_key.index(field.name)).encode()
        if field.name == spec.event_time:
            meta[EVENT_META.encode()] = b"true"
        fields.append(field.with_metadata(meta))
    return pa.schema(fields)


def merge_predicate(spec: FeatureGroupSpec, data: pa.Table) -> str:
    """Join on the key, pinned to the frame's partitions and event-time range."""
    parts = [f"t.{quote(k)} = s.{quote(k)}" for k in spec.primary_key]
    for column in spec.partition_by:
        if column.lower() in _UNPINNABLE:
            continue
        values = sorted(set(data[column].to_pylist()))
        parts.append(f"t.{quote(column)} IN ({', '.join(_literal(v) for v in values)})")
    bounds = pc.min_max(data[spec.event_time])
    event = f"t.{quote(spec.event_time)}"
    parts.append(f"{event} >= {_literal(bounds['min'].as_py())}")
    parts.append(f"{event} <= {_literal(bounds['max'].as_py())}")
    return " AND ".join(parts)


def changed_predicate(spec: FeatureGroupSpec) -> str:
    """True for a matched row whose non-key values differ from the stored row."""
    values = [n for n in spec.schema.names if n not in spec.primary_key]
    return " OR ".join(f"(t.{quote(n)} IS DISTINCT FROM s.{quote(n)})" for n in values)


def with_retries(operation: Callable[[], T], what: str) -> T:
    """Run a commit, retrying with jittered backoff when another writer committed first."""
    from deltalake.exceptions import CommitFailedError, DeltaError

    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation()
        except (CommitFailedError, DeltaError) as error:
            if not _is_conflict(error) or attempt == MAX_ATTEMPTS:
                raise StoreError(
                    f"{what} failed after {attempt} attempt(s): {first_line(error)}"
                ) from error
            delay = min(2.0, 0.02 * 2**attempt) * (0.5 + random.random())
            logger.info("%s: concurrent commit, retry %d in %.2fs", what, attempt, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _is_conflict(error: Exception) -> bool:
    from deltalake.exceptions import CommitFailedError

    text = str(error).lower()
    return isinstance(error, CommitFailedError) or any(
        word in text for word in ("conflict", "concurrent", "version already exists")
    )


def spec_from_table(name: str, table: DeltaTable) -> FeatureGroupSpec | None:
    """The spec a table was created from, or None for a table candlecast did not create."""
    match = _TABLE_NAME.match(name)
    schema = pa.schema(table.schema().to_arrow())
    keys = {}
    event = None
    for field in schema:
        meta = {
            k.decode() if isinstance(k, bytes) else k: v for k, v in (field.metadata or {}).items()
        }
        if KEY_META in meta:
            keys[int(meta[KEY_META])] = field.name
        if EVENT_META in meta:
            event = field.name
    if match is None or not keys or event is None:
        return None
    metadata = table.metadata()
    return FeatureGroupSpec(
        name=match["name"],
        version=int(match["version"]),
        schema=plain_schema(schema),
        primary_key=tuple(keys[i] for i in sorted(keys)),
        event_time=event,
        partition_by=tuple(metadata.partition_columns),
        description=metadata.description or "",
    )


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """The schema without metadata, strings as plain `string`."""
    fields = []
    for field in schema:
        data_type = field.type
        if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
            data_type = pa.string()
        fields.append(pa.field(field.name, data_type, nullable=field.nullable))
    return pa.schema(fields)


def check_same_schema(spec: FeatureGroupSpec, table: DeltaTable) -> None:
    """Raise StoreError when the stored table's schema or partitioning differs from the spec's."""
    stored = plain_schema(pa.schema(table.schema().to_arrow()))
    wanted = plain_schema(spec.schema)
    partitions = tuple(table.metadata().partition_columns)
    if stored.equals(wanted) and partitions == tuple(spec.partition_by):
        return
    differences = (
        [f"it is partitioned by {list(partitions)}"] if partitions != spec.partition_by else []
    )
    for field in wanted:
        if field.name not in stored.names:
            differences.append(f"it has no column {field.name!r}")
        elif not stored.field(field.name).equals(field):
            differences.append(f"it stores {field.name!r} as {_describe(stored.field(field.name))}")
    differences += [f"it also has {n!r}" for n in stored.names if n not in wanted.names]
    if not differences:
        differences.append(f"its columns are in another order: {stored.names}")
    raise StoreError(
        f"feature group {spec.table_name} exists with another schema ({'; '.join(differences)}); "
        "bump the group's version to change its schema or partitioning"
    )


def _describe(field: pa.Field) -> str:
    return f"{field.type}{'' if field.nullable else ' not null'}"


def quote(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if isinstance(value, datetime | date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool | int | float):
        return repr(value)
    raise ValidationError(f"cannot use {value!r} ({type(value).__name__}) as a key value")


def first_line(error: Exception) -> str:
    """The first line of an error message (deltalake appends long backtraces)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
