"""Key ordering, frame validation and fingerprints of the local store, checked as invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_adapters import candle_frame

from candlecast.errors import StoreError, ValidationError
from feature_pipeline.groups import CANDLES
from feature_store.base import FeatureGroupSpec
from feature_store.delta_tables import merge_predicate, with_retries
from feature_store.fingerprint import content_fingerprint
from feature_store.local import LocalFeatureStore
from feature_store.ordering import RUN, TaggedScan, prefix_partitioned, sort_runs
from feature_store.validate import conform

KEY = list(CANDLES.primary_key)


def _keys(frame: pd.DataFrame) -> list[tuple]:
    return list(zip(*(frame[k] for k in KEY), strict=True))


@settings(max_examples=60, deadline=None)  # timing varies with the shared machine's load
@given(
    sizes=st.lists(st.integers(1, 25), min_size=1, max_size=5),
    shuffle_rows=st.booleans(),
    shuffle_runs=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_runs_are_sorted_like_a_full_key_sort(
    sizes: list[int], shuffle_rows: bool, shuffle_runs: bool, seed: int
) -> None:
    """It gives the order of a full key sort, whatever the row order and run order."""
    rng = np.random.default_rng(seed)
    symbols = [f"S{i:02d}USDT" for i in range(len(sizes))]
    frames = [
        candle_frame(s, n=n, seed=seed).assign(**{RUN: i})
        for i, (s, n) in enumerate(zip(symbols, sizes, strict=True))
    ]
    if shuffle_rows:
        frames = [f.sample(frac=1, random_state=seed) for f in frames]
    if shuffle_runs:
        frames = [frames[i] for i in rng.permutation(len(frames))]
    raw = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    raw = raw.set_column(raw.schema.get_field_index(RUN), RUN, raw[RUN].cast(pa.int32()))
    scan = TaggedScan(dataset=None, values=[(s, "1d") for s in symbols])
    runs = sort_runs(
        raw.drop_columns(["symbol", "interval"]), scan, ("symbol", "interval"), "open_time"
    )
    got = pd.DataFrame(
        {"symbol": runs.pandas_column("symbol"), "open_time": runs.table["open_time"].to_pandas()}
    )
    expected = pd.concat(frames).sort_values(["symbol", "open_time"], ignore_index=True)
    assert _keys(got.assign(interval="1d")) == _keys(expected)
    assert runs.arrow_column("symbol", pa.string()).to_pylist() == list(expected["symbol"])
    np.testing.assert_array_equal(runs.table["close"].to_numpy(), expected["close"].to_numpy())


def test_the_fast_order_applies_only_to_key_prefix_partitions() -> None:
    """It is used only when the partition columns lead the key and one column remains."""
    assert prefix_partitioned(("symbol", "interval", "open_time"), ("symbol", "interval"))
    assert not prefix_partitioned(("symbol", "interval", "open_time"), ("symbol",))
    assert not prefix_partitioned(("symbol", "open_time"), ())


@settings(max_examples=15, deadline=None)
@given(order=st.permutations(range(6)), split=st.integers(1, 5))
def test_reads_are_sorted_and_complete_after_any_write_order(
    tmp_path_factory: pytest.TempPathFactory, order: list[int], split: int
) -> None:
    """It returns every row once, in key order, however the rows were upserted."""
    store = LocalFeatureStore(str(tmp_path_factory.mktemp("store")))
    frames = [candle_frame(s, n=12, seed=3) for s in ("ETHUSDT", "BTCUSDT")]
    everything = pd.concat(frames, ignore_index=True)
    shuffled = everything.sample(frac=1, random_state=split)
    chunks = [shuffled.iloc[i::6] for i in range(6)]
    for i in order[:split]:
        store.upsert(CANDLES, chunks[i])
    store.upsert(CANDLES, everything.sample(frac=1, random_state=1))
    stored = store.read(CANDLES)
    assert _keys(stored) == sorted(_keys(everything))


def test_conform_casts_to_the_exact_schema() -> None:
    """It returns an Arrow table with exactly the group's schema, column order included."""
    frame = candle_frame(n=4)[list(reversed(CANDLES.schema.names))]
    table = conform(CANDLES, frame)
    assert table.schema.equals(CANDLES.schema)


def test_conform_rejects_a_column_of_mixed_types() -> None:
    """It names the column when values of different types are mixed."""
    frame = candle_frame(n=3)
    frame["volume"] = pd.Series([1.0, "two", 3.0], dtype=object)
    with pytest.raises(ValidationError, match="volume"):
        conform(CANDLES, frame)


def test_fingerprints_ignore_chunking_but_not_values() -> None:
    """It hashes content: chunk layout does not matter; values and nulls do."""
    table = conform(CANDLES, candle_frame(n=50))
    rechunked = pa.concat_tables([table.slice(0, 17), table.slice(17)])
    assert content_fingerprint(rechunked) == content_fingerprint(table)
    changed = table.set_column(
        table.schema.get_field_index("close"),
        CANDLES.schema.field("close"),
        pa.array(np.r_[table["close"].to_numpy()[:-1], 0.0]),
    )
    assert content_fingerprint(changed) != content_fingerprint(table)
    nulls = table.set_column(
        table.schema.get_field_index("trades"),
        CANDLES.schema.field("trades"),
        pa.array([None] * table.num_rows, pa.int64()),
    )
    assert content_fingerprint(nulls) != content_fingerprint(table)


def test_a_fresh_process_store_sees_the_same_fingerprint(tmp_path: Path) -> None:
    """It gives equal fingerprints across store instances opened on the same table."""
    one = LocalFeatureStore(str(tmp_path))
    one.upsert(CANDLES, candle_frame(n=30))
    two = LocalFeatureStore(str(tmp_path))
    assert one.fingerprint(CANDLES) == two.fingerprint(CANDLES)


def test_a_lost_commit_race_is_retried(tmp_path: Path) -> None:
    """It retries a merge whose commit lost to an overlapping writer, and keeps both writes."""
    from deltalake import DeltaTable

    store = LocalFeatureStore(str(tmp_path))
    store.upsert(CANDLES, candle_frame(n=5))
    uri = str(tmp_path / CANDLES.table_name)
    rival = conform(CANDLES, candle_frame(start="2024-01-04", n=5, seed=1))  # overlaps ours
    ours = conform(CANDLES, candle_frame(n=5, seed=2))
    attempts = []

    def merge_after_a_rival_commit() -> int:
        stale = DeltaTable(uri)  # opened before the rival commits
        if not attempts:
            store.upsert(CANDLES, rival.to_pandas())
        attempts.append(stale.version())
        stale.merge(
            ours, merge_predicate(CANDLES, ours), source_alias="s", target_alias="t"
        ).when_matched_update_all().when_not_matched_insert_all().execute()
        return stale.version()

    with_retries(merge_after_a_rival_commit, "test merge")
    assert len(attempts) == 2 and attempts[1] > attempts[0]
    stored = store.read(CANDLES)
    assert len(stored) == 8
    np.testing.assert_allclose(stored["close"].iloc[:5], ours["close"].to_numpy())
    np.testing.assert_allclose(stored["close"].iloc[5:], rival["close"].to_numpy()[2:])


def test_schema_mismatches_are_named(tmp_path: Path) -> None:
    """It says which column or partitioning differs when a group exists with another schema."""
    store = LocalFeatureStore(str(tmp_path))
    store.ensure(CANDLES)
    retyped = CANDLES.schema.set(10, pa.field("trades", pa.float64()))
    with pytest.raises(StoreError, match="it stores 'trades' as int64"):
        store.ensure(FeatureGroupSpec("candles", 1, retyped))
    with pytest.raises(StoreError, match="partitioned by"):
        store.ensure(FeatureGroupSpec("candles", 1, CANDLES.schema, partition_by=("symbol",)))


def test_reading_a_version_that_does_not_exist_is_a_store_error(tmp_path: Path) -> None:
    """It raises StoreError (not a deltalake error) for a table version that never existed."""
    store = LocalFeatureStore(str(tmp_path))
    store.upsert(CANDLES, candle_frame(n=3))
    with pytest.raises(StoreError, match="version 99"):
        store.read(CANDLES, as_of_version=99)
