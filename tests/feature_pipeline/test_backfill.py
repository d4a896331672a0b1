"""Backfill into a real local store (Delta tables in tmp_path) from the simulator and from CSV."""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from candlecast_sim.api import FAULTS
from candlecast_sim.simulator import start_simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candlecast.errors import StoreError, UnknownSymbolError, ValidationError
from candlecast.settings import Settings
from feature_pipeline import backfill
from feature_pipeline.binance import Backoff
from feature_pipeline.features import LOOKBACK
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.source import open_source
from feature_store.local import LocalFeatureStore

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
FAST = Backoff(attempts=12, base=0.001, cap=0.005)
GROUPS = (CANDLES, FEATURES)


def fingerprints(store: LocalFeatureStore) -> tuple[str, str]:
    return store.fingerprint(CANDLES), store.fingerprint(FEATURES)


def rest(url: str, now: datetime = NOW, **options):
    config = Settings(binance_api_url=url, now=now)
    return config, open_source(config, "binance", backoff=FAST, rng=random.Random(0), **options)


def csv(data_dir: Path, now: datetime = NOW):
    config = Settings(now=now)
    return config, open_source(config, f"csv:{data_dir}")


def run(store, config_and_source, symbols, interval="1d", start=None, end=None):
    config, source = config_and_source
    return backfill.run(config, store, source, symbols, interval, start, end, progress=False)


@pytest.fixture(scope="module")
def csv_store(data_dir: Path, tmp_path_factory) -> LocalFeatureStore:
    """BTCUSDT and ETHUSDT 1d backfilled from the CSV files."""
    store = LocalFeatureStore(str(tmp_path_factory.mktemp("csv") / "store"))
    run(store, csv(data_dir), ["BTCUSDT", "ETHUSDT"])
    return store


@pytest.fixture(scope="module")
def rest_store(binance_sim: str, tmp_path_factory) -> LocalFeatureStore:
    """BTCUSDT and ETHUSDT 1d backfilled through python-binance from the simulator."""
    store = LocalFeatureStore(str(tmp_path_factory.mktemp("rest") / "store"))
    summary = run(store, rest(binance_sim), ["BTCUSDT", "ETHUSDT"])
    assert [s.candles_written for s in summary.symbols] == [3064, 3064]
    return store


def test_rest_backfill_equals_csv_backfill(rest_store, csv_store) -> None:
    """It stores the same candles and features from REST as from the CSV files."""
    assert fingerprints(rest_store) == fingerprints(csv_store)
    assert len(rest_store.read(FEATURES, symbol="BTCUSDT")) > 2900


def test_faults_still_give_the_same_result(data_dir: Path, csv_store, tmp_path: Path) -> None:
    """It gets the same store content when 30% of the requests fail."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    faults = tuple(f for f in FAULTS if f != "slow")  # timeouts: test_binance_source.py
    with start_simulator(
        data_dir, now=NOW, fault_rate=0.3, seed=5, retry_after=0, faults=faults
    ) as simulator:
        summary = run(store, rest(simulator.url, timeout=60), ["BTCUSDT", "ETHUSDT"])
        assert len(set(simulator.state.faults_served)) >= 4
    assert sum(s.retries for s in summary.symbols) > 0
    assert fingerprints(store) == fingerprints(csv_store)


def test_open_candle_never_lands(rest_store, binance_sim: str, tmp_path: Path) -> None:
    """It never stores the still-open candle, by the server's clock or by ours."""
    for group in GROUPS:
        assert rest_store.read(group, symbol="BTCUSDT")["open_time"].max() == pd.Timestamp(
            "2026-01-05", tz="UTC"
        )
    store = LocalFeatureStore(str(tmp_path / "store"))
    ours = datetime(2025, 8, 5, 12, 0, 30, tzinfo=UTC)
    summary = run(store, rest(binance_sim, now=ours), ["BTCUSDT"], "1m")
    last = store.read(CANDLES)["open_time"].max()
    assert last == pd.Timestamp("2025-08-05 11:59", tz="UTC")
    assert summary.symbols[0].last_closed == last.to_pydatetime()


def test_unknown_symbol_fails_before_writing(binance_sim: str, tmp_path: Path) -> None:
    """It checks every symbol first: an unknown one fails the run before anything is written."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    with pytest.raises(UnknownSymbolError, match="FOOUSDT"):
        run(store, rest(binance_sim), ["BTCUSDT", "FOOUSDT"])
    assert store.list_groups() == []


def test_gaps_and_delisting_are_reported(binance_sim: str, tmp_path: Path) -> None:
    """It reports 4h exchange outages and a symbol that stopped trading, inventing no candle."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    summary = run(
        store,
        rest(binance_sim),
        ["BTCUSDT", "MATICUSDT"],
        "4h",
        start=datetime(2019, 1, 1, tzinfo=UTC),
    )
    btc, matic = summary.symbols
    assert any("2020-02-19" in gap for gap in btc.gaps)
    assert not any(
        gap.startswith("7 candle") for gap in btc.gaps
    )  # the 2018 outage is before start
    assert matic.stopped_trading == datetime(2024, 9, 10, tzinfo=UTC)
    stored = store.read(CANDLES, symbol="BTCUSDT")
    assert len(stored) == summary.symbols[0].candles_written
    missing = pd.Timestamp("2020-02-19 12:00", tz="UTC")
    assert missing not in set(stored["open_time"])


def test_running_again_changes_nothing(rest_store, binance_sim: str) -> None:
    """It writes nothing and keeps the same content and table versions when run again."""
    before = fingerprints(rest_store), [rest_store.table_version(g) for g in GROUPS]
    summary = run(rest_store, rest(binance_sim), ["BTCUSDT", "ETHUSDT"])
    assert all(s.candles_written == s.features_written == 0 for s in summary.symbols)
    assert (fingerprints(rest_store), [rest_store.table_version(g) for g in GROUPS]) == before


DAY = timedelta(days=1)
BASE = datetime(2019, 1, 1, tzinfo=UTC)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    a=st.integers(0, 300),
    length_a=st.integers(1, 200),
    b=st.integers(0, 300),
    length_b=st.integers(1, 200),
)
def test_overlapping_ranges_equal_one_backfill(data_dir: Path, a, length_a, b, length_b) -> None:
    """It ends with the same content after overlapping backfills, in any order, as after one."""
    if b > a + length_a or a > b + length_b:  # keep the two ranges overlapping or touching
        b = a
    ranges = [
        (BASE + a * DAY, BASE + (a + length_a) * DAY),
        (BASE + b * DAY, BASE + (b + length_b) * DAY),
    ]
    union = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    folder = Path(tempfile.mkdtemp())
    try:
        pieces, whole = (
            LocalFeatureStore(str(folder / "pieces")),
            LocalFeatureStore(str(folder / "whole")),
        )
        for start, end in ranges:
            run(pieces, csv(data_dir), ["ETHUSDT"], start=start, end=end)
        run(whole, csv(data_dir), ["ETHUSDT"], start=union[0], end=union[1])
        assert fingerprints(pieces) == fingerprints(whole)
        features = whole.read(FEATURES)["open_time"]
        assert len(features) == (union[1] - union[0]) // DAY + 1
        assert features.min() == pd.Timestamp(union[0])
        # the candles hold the LOOKBACK - 1 candles before --start that its features read
        assert len(whole.read(CANDLES)) == len(features) + LOOKBACK - 1
    finally:
        shutil.rmtree(folder)


def test_bad_data_writes_nothing_of_that_symbol(data_dir: Path, tmp_path: Path) -> None:
    """It refuses a symbol whose candles break a rule before writing any of them; the symbols
    before it keep their (correct) commits, and a run with good data completes the store."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(data_dir / "BTCUSDT_1d.csv", mixed)
    broken = pd.read_csv(data_dir / "ETHUSDT_1d.csv")
    broken.loc[500, "high"] = broken.loc[500, "low"] / 2  # high below low: breaks a candle rule
    broken.to_csv(mixed / "ETHUSDT_1d.csv", index=False)
    with pytest.raises(ValidationError, match="high >= max"):
        run(store, csv(mixed), ["BTCUSDT", "ETHUSDT"])
    assert store.read(CANDLES, symbol="ETHUSDT").empty
    assert store.read(FEATURES, symbol="ETHUSDT").empty
    run(store, csv(data_dir), ["BTCUSDT", "ETHUSDT"])
    clean = LocalFeatureStore(str(tmp_path / "clean"))
    run(clean, csv(data_dir), ["BTCUSDT", "ETHUSDT"])
    assert fingerprints(store) == fingerprints(clean)


def test_an_absurd_price_is_refused_and_overwrites_nothing(data_dir: Path, tmp_path: Path) -> None:
    """It rejects a CSV whose row has high = 1e308, naming the row, and keeps the stored rows."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    run(store, csv(data_dir), ["BTCUSDT"])
    before = fingerprints(store), [store.table_version(g) for g in GROUPS]
    absurd = tmp_path / "absurd"
    absurd.mkdir()
    frame = pd.read_csv(data_dir / "BTCUSDT_1d.csv")
    frame.loc[frame["timestamp"] == "2025-06-01", "high"] = 1e308
    frame.to_csv(absurd / "BTCUSDT_1d.csv", index=False)
    with pytest.raises(ValidationError, match="2025-06-01 00:00 has high 1e.308, more than 20"):
        run(store, csv(absurd), ["BTCUSDT"], start=datetime(2025, 1, 1, tzinfo=UTC))
    assert (fingerprints(store), [store.table_version(g) for g in GROUPS]) == before


class FeaturesWriteFails(LocalFeatureStore):
    """A real local store whose `features` upserts fail, like a full disk would."""

    def upsert(self, spec, frame):
        if spec.name == FEATURES.name:
            raise StoreError("disk full while writing features")
        return super().upsert(spec, frame)


def test_a_failed_features_write_is_completed_by_the_next_run(
    data_dir: Path, tmp_path: Path
) -> None:
    """It keeps the committed candles when writing `features` fails, and the next run writes
    exactly the features they lack, ending as one clean backfill."""
    path = str(tmp_path / "store")
    run(LocalFeatureStore(path), csv(data_dir), ["ETHUSDT"], end=datetime(2023, 1, 1, tzinfo=UTC))
    with pytest.raises(StoreError, match="disk full"):
        run(FeaturesWriteFails(path), csv(data_dir), ["ETHUSDT"])
    store = LocalFeatureStore(path)
    assert store.read(CANDLES)["open_time"].max() == pd.Timestamp("2026-01-05", tz="UTC")
    assert store.read(FEATURES)["open_time"].max() == pd.Timestamp("2023-01-01", tz="UTC")
    (healed,) = run(store, csv(data_dir), ["ETHUSDT"]).symbols
    assert healed.candles_written == 0 and healed.features_written == 1100  # 2023-01-02..2026-01-05
    clean = LocalFeatureStore(str(tmp_path / "clean"))
    run(clean, csv(data_dir), ["ETHUSDT"])
    assert fingerprints(store) == fingerprints(clean)


def test_a_start_just_after_an_outage_still_gets_its_first_feature_row(
    data_dir: Path, tmp_path: Path
) -> None:
    """It fetches enough history before --start that an outage in the window loses no row."""
    start = datetime(2018, 2, 20, tzinfo=UTC)  # BTCUSDT_4h has an outage on 2018-02-09
    end = start + timedelta(days=2)
    store = LocalFeatureStore(str(tmp_path / "store"))
    run(store, csv(data_dir), ["BTCUSDT"], interval="4h", start=start, end=end)
    candles = store.read(CANDLES, symbol="BTCUSDT", interval="4h")
    features = store.read(FEATURES, symbol="BTCUSDT", interval="4h")
    assert features["open_time"].min() == pd.Timestamp(start)
    assert features["open_time"].tolist() == candles["open_time"].tolist()[LOOKBACK - 1 :]
