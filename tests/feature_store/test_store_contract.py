"""The FeatureStore contract, run against every adapter in store_adapters.STORES."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from store_adapters import STORES, candle_frame

from candlecast.errors import FeatureGroupNotFound, StoreError, ValidationError
from feature_pipeline.groups import CANDLES, FEATURES
from feature_store.base import FeatureGroupSpec, FeatureStore


def test_it_names_its_backend_and_location(store: FeatureStore) -> None:
    """It says which adapter it is and where its tables live (signatures: test_protocols.py)."""
    assert store.backend and store.uri


def test_it_keeps_one_copy_when_the_same_rows_are_written_twice(store: FeatureStore) -> None:
    """It upserts idempotently: a second write of the same rows changes nothing."""
    frame = candle_frame(n=20)
    first = store.upsert(CANDLES, frame)
    before = store.read(CANDLES)
    second = store.upsert(CANDLES, frame.sample(frac=1, random_state=1))
    after = store.read(CANDLES)
    assert (first.inserted, first.updated) == (20, 0)
    assert (second.inserted, second.updated) == (0, 0)
    assert second.table_version == first.table_version == store.table_version(CANDLES)
    pd.testing.assert_frame_equal(before, after)


def test_it_updates_changed_rows_and_inserts_new_ones(store: FeatureStore) -> None:
    """It merges on the primary key: changed rows are replaced, new keys appended."""
    store.upsert(CANDLES, candle_frame(n=10))
    changed = candle_frame(start="2024-01-06", n=10, seed=7)
    result = store.upsert(CANDLES, changed)
    stored = store.read(CANDLES)
    assert (result.inserted, result.updated) == (5, 5)
    assert len(stored) == 15
    tail = stored.iloc[5:].reset_index(drop=True)
    np.testing.assert_allclose(tail["close"], changed["close"])


def test_it_counts_only_rows_that_really_change(store: FeatureStore) -> None:
    """It reports as updated only matched rows whose values differ (a new null counts)."""
    frame = candle_frame(n=10)
    store.upsert(CANDLES, frame)
    again = pd.concat([frame, candle_frame(start="2024-01-11", n=3)], ignore_index=True)
    again.loc[2, "close"] += 1.0
    again.loc[7, "quote_volume"] = np.nan
    result = store.upsert(CANDLES, again)
    stored = store.read(CANDLES)
    assert (result.inserted, result.updated) == (3, 2)
    assert stored.loc[2, "close"] == again.loc[2, "close"]
    assert stored["quote_volume"].isna().tolist() == [i == 7 for i in range(13)]


def test_it_reads_timestamps_as_utc_sorted_by_key(store: FeatureStore) -> None:
    """It returns tz-aware UTC event times, sorted by the primary key."""
    store.upsert(CANDLES, candle_frame("ETHUSDT", n=5))
    store.upsert(CANDLES, candle_frame("BTCUSDT", n=5).iloc[::-1])
    stored = store.read(CANDLES)
    assert str(stored["open_time"].dt.tz) == "UTC"
    keys = list(zip(stored["symbol"], stored["interval"], stored["open_time"], strict=True))
    assert keys == sorted(keys)
    assert list(stored.columns) == CANDLES.schema.names


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.drop(columns=["volume"]), "missing column"),
        (lambda f: f.assign(extra=1.0), "unknown column"),
        (lambda f: f.assign(close=np.nan), "not nullable"),
        (lambda f: f.assign(symbol=None), "not nullable"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "share a primary key"),
        (lambda f: f.assign(close="12.5"), "has type"),
        (lambda f: f.assign(open_time=f["open_time"].astype("int64")), "has type"),
    ],
)
def test_it_rejects_a_frame_that_breaks_the_schema(store: FeatureStore, change, rule: str) -> None:
    """It raises ValidationError naming the rule, and writes nothing."""
    store.upsert(CANDLES, candle_frame(n=3))
    version = store.table_version(CANDLES)
    with pytest.raises(ValidationError, match=rule):
        store.upsert(CANDLES, change(candle_frame(start="2024-02-01", n=3)))
    assert store.table_version(CANDLES) == version
    assert len(store.read(CANDLES)) == 3


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("trades", 1.5),  # deltalake alone would store 1
        ("trades", 2.0**70),  # out of int64 range
        ("open_time", pd.Timestamp("2024-03-01 00:00:00.000000001", tz="UTC")),  # ns -> us
    ],
)
def test_it_rejects_lossy_casts(store: FeatureStore, column: str, value: object) -> None:
    """It refuses casts that would change a value instead of silently truncating it."""
    store.upsert(CANDLES, candle_frame(n=3))
    before = store.read(CANDLES)
    frame = candle_frame(n=3, seed=1)
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    frame[column] = pd.Series(list(frame[column])).infer_objects()
    with pytest.raises(ValidationError, match=column):
        store.upsert(CANDLES, frame)
    pd.testing.assert_frame_equal(store.read(CANDLES), before)


def test_it_casts_safe_types_to_the_schema(store: FeatureStore) -> None:
    """It accepts whole floats for int columns, ints for floats and naive UTC times."""
    frame = candle_frame(n=3)
    frame["trades"] = frame["trades"].astype(float)
    frame["high"] = frame["high"].round().astype(int)
    frame["open_time"] = frame["open_time"].dt.tz_localize(None)
    store.upsert(CANDLES, frame)
    stored = store.read(CANDLES)
    assert stored["trades"].dtype == np.int64
    assert stored["open_time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_it_reads_by_series_and_time_range(store: FeatureStore) -> None:
    """It filters by symbol, interval and an inclusive event-time range."""
    store.upsert(CANDLES, candle_frame("BTCUSDT", n=30))
    store.upsert(CANDLES, candle_frame("ETHUSDT", n=30))
    store.upsert(CANDLES, candle_frame("BTCUSDT", "1h", n=30, freq="h"))
    start, end = pd.Timestamp("2024-01-05", tz="UTC"), pd.Timestamp("2024-01-10", tz="UTC")
    rows = store.read(CANDLES, symbol="BTCUSDT", interval="1d", start=start, end=end)
    assert list(rows["open_time"]) == list(pd.date_range(start, end, tz="UTC"))
    assert set(rows["symbol"]) == {"BTCUSDT"} and set(rows["interval"]) == {"1d"}
    assert len(store.read(CANDLES, interval="1h")) == 30
    assert len(store.read(CANDLES, symbol="ETHUSDT", end=start)) == 5
    assert store.read(CANDLES, symbol="XRPUSDT").empty


def test_it_selects_columns(store: FeatureStore) -> None:
    """It returns just the columns asked for, in that order, and rejects unknown ones."""
    store.upsert(CANDLES, candle_frame(n=4))
    store.upsert(CANDLES, candle_frame("ETHUSDT", n=2))
    rows = store.read(CANDLES, columns=["close", "open_time"])
    assert list(rows.columns) == ["close", "open_time"]
    assert len(rows) == 6
    keys = store.read(CANDLES, columns=["interval", "symbol"])
    assert list(keys.columns) == ["interval", "symbol"]
    assert list(keys["symbol"]) == ["BTCUSDT"] * 4 + ["ETHUSDT"] * 2
    with pytest.raises(ValidationError, match="no column"):
        store.read(CANDLES, columns=["nope"])


def test_it_returns_the_latest_rows_oldest_first(store: FeatureStore) -> None:
    """It returns the last n rows of one series by event time."""
    store.upsert(CANDLES, candle_frame(n=40).sample(frac=1, random_state=3))
    store.upsert(CANDLES, candle_frame("ETHUSDT", start="2025-01-01", n=5))
    rows = store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=3, columns=["open_time"])
    expected = pd.date_range("2024-02-07", periods=3, tz="UTC")
    assert list(rows["open_time"]) == list(expected)
    assert len(store.latest(CANDLES, symbol="BTCUSDT", interval="1d", n=100)) == 40


def test_it_reads_an_older_table_version(store: FeatureStore) -> None:
    """It reads the content as of an earlier table version."""
    store.upsert(CANDLES, candle_frame(n=5))
    version = store.table_version(CANDLES)
    store.upsert(CANDLES, candle_frame(start="2024-01-06", n=5))
    assert len(store.read(CANDLES)) == 10
    assert len(store.read(CANDLES, as_of_version=version)) == 5
    assert store.table_version(CANDLES) > version


def test_it_computes_column_statistics(store: FeatureStore) -> None:
    """It reports count, nulls, min and max per column."""
    frame = candle_frame(n=6)
    frame.loc[[1, 4], "quote_volume"] = np.nan
    store.upsert(CANDLES, frame)
    stats = store.statistics(CANDLES)
    assert set(stats) == set(CANDLES.schema.names)
    assert (stats["quote_volume"].count, stats["quote_volume"].nulls) == (4, 2)
    assert stats["close"].min == pytest.approx(frame["close"].min())
    assert stats["close"].max == pytest.approx(frame["close"].max())
    assert pd.Timestamp(stats["open_time"].max) == frame["open_time"].max()


def test_it_summarises_each_series(store: FeatureStore) -> None:
    """It reports rows and first/last event time per symbol and interval."""
    store.upsert(CANDLES, candle_frame("BTCUSDT", n=7))
    store.upsert(CANDLES, candle_frame("ETHUSDT", start="2023-06-01", n=3))
    summary = {(s.symbol, s.interval): s for s in store.series(CANDLES)}
    assert set(summary) == {("BTCUSDT", "1d"), ("ETHUSDT", "1d")}
    assert summary["BTCUSDT", "1d"].rows == 7
    assert pd.Timestamp(summary["ETHUSDT", "1d"].first) == pd.Timestamp("2023-06-01", tz="UTC")
    assert pd.Timestamp(summary["BTCUSDT", "1d"].last) == pd.Timestamp("2024-01-07", tz="UTC")


def test_its_fingerprint_ignores_write_order_and_version(store_name: str, tmp_path) -> None:
    """It gives equal fingerprints for equal content, however and whenever it was written."""
    one = STORES[store_name](tmp_path / "one")
    two = STORES[store_name](tmp_path / "two")
    frames = [candle_frame("BTCUSDT", n=20), candle_frame("ETHUSDT", n=20, seed=2)]
    for frame in frames:
        one.upsert(CANDLES, frame)
    for frame in reversed(frames):
        two.upsert(CANDLES, frame.sample(frac=1, random_state=5).iloc[:10])
        two.upsert(CANDLES, frame.sample(frac=1, random_state=5))
    assert one.table_version(CANDLES) != two.table_version(CANDLES)
    assert one.fingerprint(CANDLES) == two.fingerprint(CANDLES)
    two.upsert(CANDLES, candle_frame("BTCUSDT", n=1, seed=9))
    assert one.fingerprint(CANDLES) != two.fingerprint(CANDLES)


def test_it_raises_a_helpful_error_for_a_missing_group(store: FeatureStore) -> None:
    """It tells the user to run the backfill when a group does not exist."""
    with pytest.raises(FeatureGroupNotFound, match="candlecast backfill"):
        store.read(FEATURES)


def test_it_lists_groups_and_refuses_a_changed_schema(store: FeatureStore) -> None:
    """It recovers every group's spec from the store and rejects a same-version schema change."""
    store.ensure(CANDLES)
    store.upsert(CANDLES, candle_frame(n=2))
    specs = {(s.name, s.version): s for s in store.list_groups()}
    assert set(specs) == {("candles", 1)}
    found = specs["candles", 1]
    assert found.primary_key == CANDLES.primary_key
    assert found.event_time == CANDLES.event_time
    assert found.schema.equals(CANDLES.schema)
    changed = FeatureGroupSpec(
        name="candles",
        version=1,
        schema=CANDLES.schema.append(pa.field("extra", pa.float64())),
    )
    with pytest.raises(StoreError, match="another schema"):
        store.ensure(changed)
