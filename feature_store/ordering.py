"""Put query results in primary-key order cheaply when the table is partitioned by a key prefix.

A full ORDER BY over a million rows costs several times the scan itself. When the partition
columns are the leading key columns and one key column remains (symbol, interval | open_time),
the scan can visit partitions in key order; then only each partition's rows need ordering by
the last key column, and they are usually in order already (files are written sorted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds


def prefix_partitioned(primary_key: Sequence[str], partition_by: Sequence[str]) -> bool:
    """True when the partition columns are the key minus its last column."""
    return bool(partition_by) and tuple(primary_key) == (*partition_by, primary_key[-1])


def in_partition_order(dataset: ds.Dataset, partition_by: Sequence[str]) -> ds.Dataset:
    """The same dataset with its files listed in ascending partition-value order."""
    if not isinstance(dataset, ds.FileSystemDataset):
        return dataset
    fragments = list(dataset.get_fragments())

    def key(fragment: ds.Fragment) -> tuple[object, ...]:
        values = ds.get_partition_keys(fragment.partition_expression)
        return tuple(values.get(column) for column in partition_by)

    try:
        fragments.sort(key=key)
    except TypeError:  # a null partition value: leave the order to the fallback sort
        return dataset
    return ds.FileSystemDataset(
        fragments, schema=dataset.schema, format=dataset.format, filesystem=dataset.filesystem
    )


def sort_partition_runs(table: pa.Table, primary_key: Sequence[str]) -> pa.Table:
    """The table sorted by primary_key, assuming rows arrive grouped by the leading key columns.

    Each run of equal leading values is ordered by the last key column (a no-op when it is
    already in order); if the runs themselves are out of order, the whole table is sorted.
    """
    if table.num_rows < 2:
        return table
    leading, last = list(primary_key[:-1]), primary_key[-1]
    starts = _run_starts(table, leading)
    if not _runs_ascending(table, leading, starts):
        return table.sort_by([(k, "ascending") for k in primary_key])
    values = _sortable(table[last])
    pieces, untouched_from = [], 0
    bounds = [*starts, table.num_rows]
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        run = values[begin:end]
        if run.size > 1 and not (run[1:] > run[:-1]).all():
            pieces.append(table.slice(untouched_from, begin - untouched_from))
            order = np.argsort(run, kind="stable")
            pieces.append(table.slice(begin, end - begin).take(pa.array(order)))
            untouched_from = end
    if not pieces:
        return table
    pieces.append(table.slice(untouched_from))
    return pa.concat_tables(pieces)


def _run_starts(table: pa.Table, leading: Sequence[str]) -> list[int]:
    """Row indices where any leading key column changes value (always includes 0)."""
    changed = np.zeros(table.num_rows - 1, dtype=bool)
    for column in leading:
        array = table[column].combine_chunks()
        changed |= pc.not_equal(array.slice(1), array.slice(0, len(array) - 1)).to_numpy(
            zero_copy_only=False
        )
    return [0, *(np.flatnonzero(changed) + 1).tolist()]


def _runs_ascending(table: pa.Table, leading: Sequence[str], starts: Sequence[int]) -> bool:
    """True when each run's leading values are strictly greater than the previous run's."""
    keys = [tuple(table[c][i].as_py() for c in leading) for i in starts]
    try:
        return all(a < b for a, b in zip(keys, keys[1:], strict=False))
    except TypeError:  # nulls do not compare; let the full sort decide
        return False


def _sortable(column: pa.ChunkedArray) -> np.ndarray:
    """The column as numbers that order like its values."""
    array = column.combine_chunks()
    if pa.types.is_timestamp(array.type):
        return array.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_date(array.type):
        return array.cast(pa.int32()).to_numpy(zero_copy_only=False)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        return array.to_numpy(zero_copy_only=False)
    return pc.rank(array, sort_keys="ascending", tiebreaker="dense").to_numpy()
