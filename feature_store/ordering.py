"""Key-ordered reads without a full sort, for groups partitioned by the leading key columns.

A full ORDER BY over a million rows costs several times the scan itself, and so does moving
the repeated partition strings through DuckDB. When the partition columns are the key minus
its last column (symbol, interval | open_time), the scan visits the partitions in key order,
each file tagged with the index of its partition (a constant integer column); then only each
partition's rows need ordering by the last key column (usually a no-op: files are written in
order), and the partition columns are rebuilt from the tags at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

RUN = "__candlecast_partition"


def prefix_partitioned(primary_key: Sequence[str], partition_by: Sequence[str]) -> bool:
    """True when the partition columns are the key minus its last column."""
    return bool(partition_by) and tuple(primary_key) == (*partition_by, primary_key[-1])


@dataclass(frozen=True)
class TaggedScan:
    """A dataset whose files carry RUN = the index of their partition in `values`."""

    dataset: ds.Dataset
    values: list[tuple[object, ...]]


@dataclass(frozen=True)
class SortedRuns:
    """Rows in key order (partition columns left out) and the partition of each run of rows."""

    table: pa.Table
    partition_by: tuple[str, ...]
    values: list[tuple[object, ...]]
    counts: np.ndarray

    def pandas_column(self, name: str) -> np.ndarray:
        """The partition column as an object array, one value per row."""
        i = self.partition_by.index(name)
        return np.repeat(np.array([v[i] for v in self.values], dtype=object), self.counts)

    def arrow_column(self, name: str, data_type: pa.DataType) -> pa.Array:
        """The partition column as an Arrow array of data_type, one value per row."""
        i = self.partition_by.index(name)
        codes = np.repeat(np.arange(len(self.values), dtype=np.int32), self.counts)
        dictionary = pa.array([v[i] for v in self.values], type=data_type)
        return pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).cast(data_type)


def tag_partitions(dataset: ds.Dataset, partition_by: Sequence[str]) -> TaggedScan | None:
    """The dataset's files in ascending partition order, tagged; None if that is not possible."""
    if not isinstance(dataset, ds.FileSystemDataset) or RUN in dataset.schema.names:
        return None

    def key(fragment: ds.Fragment) -> tuple[object, ...]:
        values = ds.get_partition_keys(fragment.partition_expression)
        return tuple(values.get(column) for column in partition_by)

    fragments = list(dataset.get_fragments())
    keys = [key(f) for f in fragments]
    if any(v is None for k in keys for v in k):
        return None  # null partition values: let ORDER BY handle them
    ordered = sorted(zip(keys, fragments, strict=True), key=lambda pair: pair[0])
    values, tagged = [], []
    for run, (value, members) in enumerate(groupby(ordered, key=lambda pair: pair[0])):
        values.append(value)
        for _, fragment in members:
            expression = fragment.partition_expression & (ds.field(RUN) == run)
            tagged.append(
                dataset.format.make_fragment(
                    fragment.path, dataset.filesystem, partition_expression=expression
                )
            )
    schema = dataset.schema.append(pa.field(RUN, pa.int32(), nullable=False))
    return TaggedScan(
        ds.FileSystemDataset(tagged, schema, dataset.format, dataset.filesystem), values
    )


def sort_runs(
    table: pa.Table, scan: TaggedScan, partition_by: Sequence[str], last_key: str
) -> SortedRuns:
    """Order a scan result (with RUN and last_key columns) by partition, then by last_key."""
    runs = table[RUN].combine_chunks().to_numpy(zero_copy_only=False)
    last = _sortable(table[last_key])
    starts = _run_starts(runs)
    if not (np.diff(runs[starts]) > 0).all():  # the scan did not keep the file order
        order = np.lexsort((last, runs))
        table, runs, last = table.take(pa.array(order)), runs[order], last[order]
        starts = _run_starts(runs)
    bounds = np.r_[starts, len(runs)].astype(np.int64)
    table = _sort_within(table, last, bounds)
    return SortedRuns(
        table=table.drop_columns([RUN]),
        partition_by=tuple(partition_by),
        values=[scan.values[r] for r in runs[starts]],
        counts=np.diff(bounds),
    )


def _run_starts(runs: np.ndarray) -> np.ndarray:
    if runs.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.r_[0, np.flatnonzero(runs[1:] != runs[:-1]) + 1].astype(np.int64)


def _sort_within(table: pa.Table, last: np.ndarray, bounds: np.ndarray) -> pa.Table:
    """Sort each run [bounds[i], bounds[i+1]) by `last`, leaving ordered runs untouched."""
    pieces, untouched_from = [], 0
    for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        run = last[begin:end]
        if run.size > 1 and not (run[1:] > run[:-1]).all():
            pieces.append(table.slice(untouched_from, begin - untouched_from))
            order = np.argsort(run, kind="stable")
            pieces.append(table.slice(begin, end - begin).take(pa.array(order)))
            untouched_from = end
    if not pieces:
        return table
    pieces.append(table.slice(untouched_from))
    return pa.concat_tables(pieces)


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
