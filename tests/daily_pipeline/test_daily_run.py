"""The daily run against the real python-binance client, the Binance simulator and Delta tables."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from candlecast_sim.simulator import start_simulator
from daily_market import Market, utc

from candlecast.intervals import last_closed_open
from daily_pipeline.run import run
from daily_pipeline.summary import ERROR, OK, STALE, UP_TO_DATE
from feature_pipeline import backfill
from feature_pipeline.binance import Backoff
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.source import open_source
from feature_store.local import LocalFeatureStore

GROUPS = (CANDLES, FEATURES)


def fingerprints(store: LocalFeatureStore) -> tuple[str, ...]:
    return tuple(store.fingerprint(spec) for spec in GROUPS)


def backfill_to(market: Market, store: LocalFeatureStore, now: str) -> None:
    settings = market.at(utc(now))
    backfill.run(settings, store, open_source(settings), market.symbols, "1d", progress=False)


def daily_at(market: Market, store: LocalFeatureStore, now: str, **source_options: object):
    settings = market.at(utc(now))
    return run(settings, store, open_source(settings, **source_options))


def series(store: LocalFeatureStore, symbol: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return tuple(store.read(spec, symbol=symbol, interval="1d") for spec in GROUPS)


def test_backfill_then_daily_runs_equal_one_backfill(market: Market) -> None:
    """It gives exactly the candles and features of one backfill, also after missed days."""
    incremental = market.store("incremental")
    backfill_to(market, incremental, "2025-03-01T00:05")
    for day in ("2025-03-02T00:05", "2025-03-03T06:00", "2025-03-09T00:01", "2025-03-10T00:05"):
        summary = daily_at(market, incremental, day)
        assert summary.exit_code == 0
    assert [r.candles_added for r in summary.results] == [1, 1]
    reference = market.store("reference")
    backfill_to(market, reference, "2025-03-10T00:05")
    assert fingerprints(incremental) == fingerprints(reference)
    candles, features = series(incremental, "BTCUSDT")
    assert candles["open_time"].iloc[-1] == pd.Timestamp("2025-03-09", tz="UTC")
    assert features["open_time"].iloc[-1] == pd.Timestamp("2025-03-09", tz="UTC")


def test_catches_up_missed_days_and_reports_lag(market: Market) -> None:
    """It fetches every candle closed since the last run and reports minutes of lag after it."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    summary = daily_at(market, store, "2025-03-31T00:05")
    assert [(r.status, r.candles_added, r.features_added) for r in summary.results] == [
        (OK, 30, 30),
        (OK, 30, 30),
    ]
    result = summary.results[0]
    assert result.last_closed == utc("2025-03-30")
    assert result.lag.total_seconds() == 5 * 60
    assert summary.to_dict()["symbols"][0]["lag_seconds"] == 300


def test_running_again_changes_nothing(market: Market) -> None:
    """It is idempotent: a second run at once asks Binance nothing and writes nothing."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    daily_at(market, store, "2025-03-05T00:05")
    before = fingerprints(store), [store.table_version(spec) for spec in GROUPS]
    requests = market.simulator.state.requests
    again = daily_at(market, store, "2025-03-05T23:59")
    assert [r.status for r in again.results] == [UP_TO_DATE, UP_TO_DATE]
    assert (fingerprints(store), [store.table_version(spec) for spec in GROUPS]) == before
    assert market.simulator.state.requests == requests


def test_concurrent_runs_give_one_runs_content_and_true_counts(market: Market) -> None:
    """It ends with one run's content, without duplicates, when four runs of the same event
    overlap, and their counts add up to the rows the store holds, not four times them."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    before = {spec.name: len(store.read(spec)) for spec in GROUPS}
    settings = market.at(utc("2025-03-20T00:05"))
    summaries = []

    def one_run() -> None:
        summaries.append(run(settings, LocalFeatureStore(store.uri), open_source(settings)))

    threads = [threading.Thread(target=one_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [s.exit_code for s in summaries] == [0, 0, 0, 0]
    reference = market.store("reference")
    backfill_to(market, reference, "2025-03-20T00:05")
    assert fingerprints(store) == fingerprints(reference)
    for spec in GROUPS:
        rows = store.read(spec)
        assert not rows.duplicated(list(spec.primary_key)).any()
    added = {
        "candles": sum(r.candles_added for s in summaries for r in s.results),
        "features": sum(r.features_added for s in summaries for r in s.results),
    }
    assert added == {
        name: len(store.read(spec)) - before[name]
        for name, spec in (("candles", CANDLES), ("features", FEATURES))
    }
    assert added["candles"] == 2 * 19  # 2025-03-01 .. 2025-03-19, two symbols


def test_a_delisted_symbol_is_stale_without_failing_the_others(market: Market) -> None:
    """It reports MATICUSDT (no candles after 2024-09-10) as stale and updates BTCUSDT."""
    market.symbols = ("MATICUSDT", "BTCUSDT")
    store = market.store()
    backfill_to(market, store, "2024-09-05T00:05")
    summary = daily_at(market, store, "2024-09-20T00:05")
    matic, btc = summary.results
    assert (matic.status, matic.candles_added, matic.last_closed) == (STALE, 6, utc("2024-09-10"))
    assert "stopped trading" in matic.message
    assert (btc.status, btc.candles_added) == (OK, 15)
    assert summary.exit_code == 0
    later = daily_at(market, store, "2024-09-21T00:05").results[0]
    assert (later.status, later.candles_added) == (STALE, 0)


def test_a_network_failure_leaves_that_symbol_unchanged_and_is_reported(market: Market) -> None:
    """It reports the symbol whose requests keep failing and still updates the next symbol."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    before = series(store, "BTCUSDT")
    market.simulator.state.script.extend(["500", "500"])  # BTCUSDT's first call fails twice
    summary = daily_at(market, store, "2025-03-04T00:05", backoff=Backoff(attempts=2, base=0.01))
    btc, eth = summary.results
    assert btc.status == ERROR and "HTTP 500" in btc.message
    assert btc.last_closed == utc("2025-02-28")
    assert (eth.status, eth.candles_added) == (OK, 3)
    assert summary.exit_code == 1
    for stored, expected in zip(series(store, "BTCUSDT"), before, strict=True):
        pd.testing.assert_frame_equal(stored, expected)


def test_bad_data_leaves_that_symbol_unchanged_and_is_reported(
    data_dir: Path, tmp_path: Path
) -> None:
    """It rejects a candle whose high is below its low and writes nothing for that symbol."""
    bad_dir = tmp_path / "data"
    bad_dir.mkdir()
    shutil.copy(data_dir / "ETHUSDT_1d.csv", bad_dir)
    prices = pd.read_csv(data_dir / "BTCUSDT_1d.csv")
    broken = prices["timestamp"] == "2025-03-03"
    prices.loc[broken, "high"] = prices.loc[broken, "low"] / 2
    prices.to_csv(bad_dir / "BTCUSDT_1d.csv", index=False)
    with start_simulator(bad_dir, now=utc("2025-03-01T00:05")) as simulator:
        market = Market(simulator, tmp_path)
        store = market.store()
        backfill_to(market, store, "2025-03-01T00:05")
        before = series(store, "BTCUSDT")
        summary = daily_at(market, store, "2025-03-05T00:05")
    btc, eth = summary.results
    assert btc.status == ERROR and "high" in btc.message
    assert (eth.status, eth.candles_added) == (OK, 4)
    for stored, expected in zip(series(store, "BTCUSDT"), before, strict=True):
        pd.testing.assert_frame_equal(stored, expected)


class FeatureWriteFails(LocalFeatureStore):
    """A real store whose features upserts fail, as a full disk or a lost connection would."""

    def upsert(self, spec, frame):  # type: ignore[no-untyped-def]
        if spec is FEATURES:
            raise OSError("disk full")
        return super().upsert(spec, frame)


def test_a_failed_features_write_is_caught_up_by_the_next_run(market: Market) -> None:
    """It keeps the committed candles when the features write fails, and the next run (with no
    new candle to fetch) writes the features they lack: the store then equals one backfill."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    summary = daily_at(market, FeatureWriteFails(store.uri), "2025-03-04T00:05")
    assert [r.status for r in summary.results] == [ERROR, ERROR]
    assert "disk full" in summary.results[0].message
    candles, features = series(store, "BTCUSDT")
    assert candles["open_time"].max() == pd.Timestamp("2025-03-03", tz="UTC")
    assert features["open_time"].max() == pd.Timestamp("2025-02-28", tz="UTC")
    requests = market.simulator.state.requests
    healed = daily_at(market, store, "2025-03-04T00:05")
    assert [(r.status, r.candles_added, r.features_added) for r in healed.results] == [
        (OK, 0, 3),
        (OK, 0, 3),
    ]
    assert "caught up 3 feature row(s)" in healed.results[0].message
    assert market.simulator.state.requests == requests  # nothing was asked of Binance
    reference = market.store("reference")
    backfill_to(market, reference, "2025-03-04T00:05")
    assert fingerprints(store) == fingerprints(reference)


def test_an_unknown_symbol_on_a_fresh_store_creates_nothing(market: Market) -> None:
    """It reports an unknown symbol as an error and leaves a fresh store without any table."""
    market.symbols = ("FOOUSDT",)
    store = market.store()
    (result,) = daily_at(market, store, "2025-03-04T00:05").results
    assert result.status == ERROR and "FOOUSDT" in result.message
    assert store.list_groups() == []


def test_a_symbol_with_nothing_stored_is_backfilled_by_the_daily_run(market: Market) -> None:
    """It fetches a new symbol's whole history, the same content as a backfill would write."""
    store = market.store()
    summary = daily_at(market, store, "2025-03-01T00:05")
    assert [r.status for r in summary.results] == [OK, OK]
    reference = market.store("reference")
    backfill_to(market, reference, "2025-03-01T00:05")
    assert fingerprints(store) == fingerprints(reference)


def test_the_still_open_candle_never_lands(market: Market) -> None:
    """It stores only candles closed before `now`, whatever the time of day."""
    store = market.store()
    backfill_to(market, store, "2025-03-01T00:05")
    daily_at(market, store, "2025-03-03T23:59")
    candles = store.read(CANDLES, symbol="BTCUSDT", interval="1d")
    assert candles["open_time"].max() == pd.Timestamp("2025-03-02", tz="UTC")


@pytest.mark.parametrize(
    ("now", "interval", "expected"),
    [
        ("2025-03-02T00:00", "1d", "2025-03-01T00:00"),
        ("2025-03-02T23:59", "1d", "2025-03-01T00:00"),
        ("2025-03-02T09:00", "4h", "2025-03-02T04:00"),
        ("2025-03-02T07:59", "4h", "2025-03-02T00:00"),
    ],
)
def test_last_closed_open_is_the_newest_closed_candle(
    now: str, interval: str, expected: str
) -> None:
    """It finds the open time of the newest candle whose close is before `now`."""
    assert last_closed_open(utc(now), interval) == utc(expected)


def test_a_candle_the_exchange_has_not_published_yet_is_not_stale(market: Market) -> None:
    """It reports a short delay (the exchange's clock behind ours) as up to date with a note."""
    store = market.store()
    backfill_to(market, store, "2025-03-02T00:05")
    settings = market.at(utc("2025-03-02T00:05")).with_overrides(now=utc("2025-03-03T00:05"))
    result = run(settings, store, open_source(settings)).results[0]
    assert (result.status, result.candles_added, result.last_closed) == (
        UP_TO_DATE,
        0,
        utc("2025-03-01"),
    )
    assert "2025-03-02 00:00 candle is not published yet" in result.message
