"""A content hash of a table that ignores chunking, file layout and write history."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def content_fingerprint(table: pa.Table) -> str:
    """sha256 over the column names, types, validity and values of a table already sorted by key."""
    digest = hashlib.sha256()
    digest.update(f"rows={table.num_rows};".encode())
    for name in table.column_names:
        column = table[name]
        digest.update(f"column={name}:{column.type};".encode())
        _hash_column(
            digest, column.combine_chunks() if column.num_chunks else pa.array([], column.type)
        )
    return digest.hexdigest()


def _hash_column(digest: hashlib._Hash, array: pa.Array) -> None:
    valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
    digest.update(np.packbits(valid).tobytes())
    data_type = array.type
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        _hash_text(digest, array.cast(pa.large_string()).fill_null(""))
    elif pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        _hash_numbers(
            digest, array.cast(pa.int64() if pa.types.is_timestamp(data_type) else pa.int32())
        )
    elif pa.types.is_boolean(data_type):
        digest.update(np.packbits(array.fill_null(False).to_numpy(zero_copy_only=False)).tobytes())
    else:
        _hash_numbers(digest, array)


def _hash_numbers(digest: hashlib._Hash, array: pa.Array) -> None:
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    if values.dtype.kind == "f":
        values = np.where(values == 0, 0.0, values)  # -0.0 and 0.0 are the same content
    digest.update(np.ascontiguousarray(values).tobytes())


def _hash_text(digest: hashlib._Hash, array: pa.LargeStringArray) -> None:
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False).astype(np.int64)
    digest.update(lengths.tobytes())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = array.buffers()[2]
    if data is not None and len(array):
        digest.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
