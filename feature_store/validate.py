"""Check a frame against a feature group's schema and cast it exactly, or name the broken rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from candlecast.errors import ValidationError
from feature_store.base import FeatureGroupSpec

_KINDS: tuple[tuple[str, Callable[[pa.DataType], bool]], ...] = (
    ("number", lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)),
    ("timestamp", pa.types.is_timestamp),
    ("date", pa.types.is_date),
    ("text", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
    ("boolean", pa.types.is_boolean),
)


def conform(spec: FeatureGroupSpec, frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table with exactly the group's schema; raises ValidationError."""
    where = f"feature group {spec.table_name}"
    check_columns(spec.schema, list(frame.columns), where)
    table = _to_arrow(frame, where).select(spec.schema.names)
    columns = [_cast_column(table[f.name], f, where) for f in spec.schema]
    result = pa.Table.from_arrays(columns, schema=spec.schema)
    check_unique_key(result, spec.primary_key, where)
    return result


def check_columns(schema: pa.Schema, columns: Sequence[object], where: str) -> None:
    """Reject frames with missing, extra or repeated columns."""
    names = [str(c) for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    missing = [n for n in schema.names if n not in names]
    extra = [n for n in names if n not in schema.names]
    if repeated:
        raise ValidationError(
            f"{where}: column(s) {repeated} appear more than once; keep one of each"
        )
    if missing:
        raise ValidationError(
            f"{where}: missing column(s) {missing}; every write needs all of {schema.names}"
        )
    if extra:
        raise ValidationError(
            f"{where}: unknown column(s) {extra}; drop them or create a new group version "
            f"(allowed: {schema.names})"
        )


def check_unique_key(table: pa.Table, key: Sequence[str], where: str) -> None:
    """Reject frames where two rows share a primary key."""
    if table.num_rows < 2:
        return
    codes = pd.DataFrame({name: _key_codes(table[name]) for name in key})
    repeated = codes.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = int(repeated.argmax())
        example = {name: table[name][first].as_py() for name in key}
        raise ValidationError(
            f"{where}: {int(repeated.sum())} rows share a primary key {list(key)} with another "
            f"row of the frame, e.g. {example}; keep one row per key"
        )


def _key_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Integers that are equal exactly when the key values are (nulls never reach here)."""
    array = column.combine_chunks()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(array.type):
        return array.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_date(array.type):
        return array.cast(pa.int32()).to_numpy(zero_copy_only=False)
    return array.to_numpy(zero_copy_only=False)


def _to_arrow(frame: pd.DataFrame, where: str) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        column = _failing_column(frame)
        raise ValidationError(
            f"{where}: column {column!r} holds values of mixed or unsupported types ({error}); "
            "give every value the column's type"
        ) from None


def _failing_column(frame: pd.DataFrame) -> str:
    for name in frame.columns:
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return str(name)
    return "?"


def _kind(data_type: pa.DataType) -> str:
    return next((name for name, test in _KINDS if test(data_type)), str(data_type))


def _cast_column(column: pa.ChunkedArray, field: pa.Field, where: str) -> pa.ChunkedArray:
    source, target = column.type, field.type
    if pa.types.is_null(source):
        column = pa.chunked_array([pa.nulls(len(column), target)])  # all-missing: no own type
    elif _kind(source) != _kind(target):
        raise ValidationError(
            f"{where}: column {field.name!r} has type {source} but the schema needs {target}; "
            f"convert it before writing (no implicit {_kind(source)} -> {_kind(target)} casts)"
        )
    elif source != target:
        try:
            column = column.cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValidationError(
                f"{where}: column {field.name!r} cannot be cast from {source} to {target} "
                f"without losing data ({error}); round or convert the values first"
            ) from None
    if not field.nullable and column.null_count:
        raise ValidationError(
            f"{where}: column {field.name!r} is not nullable but has {column.null_count} "
            "null/NaN value(s); fill or drop those rows"
        )
    return column
