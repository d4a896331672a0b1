"""One sync for backfill and the daily run: a run killed at any commit is completed by the next."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from candlecast.settings import Settings
from daily_pipeline import run as daily
from daily_pipeline.summary import OK
from feature_pipeline import backfill
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.source import open_source
from feature_store.local import LocalFeatureStore

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
SYMBOLS = ["BTCUSDT", "ETHUSDT"]
HOOK = Path(__file__).parent / "kill_hook"
CANDLECAST = Path(sys.executable).with_name("candlecast")


class Killed(BaseException):
    """What a SIGKILL does to a run: it stops at once, and no handler runs."""


class CrashAfter(LocalFeatureStore):
    """A real local store whose process 'dies' right after its Nth commit."""

    def __init__(self, uri: str, commits: int) -> None:
        super().__init__(uri)
        self.left = commits

    def upsert(self, spec, frame):  # type: ignore[no-untyped-def]
        result = super().upsert(spec, frame)
        self.left -= 1
        if self.left == 0:
            raise Killed(f"killed after committing {spec.name}")
        return result


def fingerprints(store: LocalFeatureStore) -> tuple[str, ...]:
    groups = {spec.table_name for spec in store.list_groups()}
    return tuple(
        store.fingerprint(spec) if spec.table_name in groups else "missing"
        for spec in (CANDLES, FEATURES)
    )


def settings(now: datetime = NOW) -> Settings:
    return Settings(now=now, symbols=tuple(SYMBOLS))


def backfill_csv(store, data_dir: Path, now: datetime = NOW, **kwargs):
    config = settings(now)
    source = open_source(config, f"csv:{data_dir}")
    return backfill.run(config, store, source, SYMBOLS, "1d", progress=False, **kwargs)


def daily_csv(store, data_dir: Path, now: datetime = NOW):
    config = settings(now)
    return daily.run(config, store, open_source(config, f"csv:{data_dir}"))


@pytest.fixture(scope="module")
def clean(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The fingerprints of one uninterrupted backfill of both symbols to NOW."""
    store = LocalFeatureStore(str(tmp_path_factory.mktemp("clean") / "store"))
    backfill_csv(store, data_dir)
    return fingerprints(store)


@pytest.mark.parametrize("commits", [1, 2, 3])
@pytest.mark.parametrize("healer", ["backfill", "daily"])
def test_a_backfill_killed_at_any_commit_is_completed_by_either_command(
    data_dir: Path, tmp_path: Path, clean: tuple[str, str], commits: int, healer: str
) -> None:
    """It ends with the content of an uninterrupted backfill when a two-symbol backfill dies
    after its 1st, 2nd or 3rd commit (BTCUSDT candles, BTCUSDT features, ETHUSDT candles) and
    the next run is a backfill or a daily run."""
    path = str(tmp_path / "store")
    with pytest.raises(Killed):
        backfill_csv(CrashAfter(path, commits), data_dir)
    store = LocalFeatureStore(path)
    assert fingerprints(store) != clean
    if healer == "backfill":
        backfill_csv(store, data_dir)
    else:
        assert daily_csv(store, data_dir).exit_code == 0
    assert fingerprints(store) == clean


def test_a_daily_run_killed_between_its_commits_heals_on_the_next(
    data_dir: Path, tmp_path: Path, clean: tuple[str, str]
) -> None:
    """It catches up the features a killed daily run did not write, without asking the source
    for anything, and reports what it wrote."""
    path = str(tmp_path / "store")
    backfill_csv(LocalFeatureStore(path), data_dir, now=datetime(2025, 12, 21, 12, tzinfo=UTC))
    with pytest.raises(Killed):
        daily_csv(CrashAfter(path, 1), data_dir)
    store = LocalFeatureStore(path)
    btc_features = store.read(FEATURES, symbol="BTCUSDT")["open_time"]
    assert btc_features.max() == pd.Timestamp("2025-12-20", tz="UTC")
    results = daily_csv(store, data_dir).results
    assert [(r.status, r.candles_added, r.features_added) for r in results] == [
        (OK, 0, 16),  # BTCUSDT: its candles were committed before the kill
        (OK, 16, 16),  # ETHUSDT: the killed run never reached it
    ]
    assert fingerprints(store) == clean
    again = daily_csv(store, data_dir).results
    assert [(r.candles_added, r.features_added) for r in again] == [(0, 0), (0, 0)]


def run_cli(home: Path, *args: str, kill_after: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDLECAST_")}
    env |= {"CANDLECAST_HOME": str(home), "PYTHONPATH": str(HOOK)}
    if kill_after:
        env["CANDLECAST_TEST_KILL_AFTER"] = str(kill_after)
    return subprocess.run(
        [str(CANDLECAST), *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_sigkilled_daily_and_backfill_are_healed_by_the_next_daily_run(
    data_dir: Path, tmp_path: Path, clean: tuple[str, str]
) -> None:
    """It survives real SIGKILLs between commits: `candlecast daily` killed after its candles
    commit, then `candlecast backfill` killed after ETHUSDT's candles; one `candlecast daily`
    then leaves exactly the content of an uninterrupted backfill."""
    source = f"csv:{data_dir}"
    first = run_cli(
        tmp_path,
        "backfill",
        "--symbols",
        "BTCUSDT",
        "--source",
        source,
        "--now",
        "2025-12-21T12:00Z",
    )
    assert first.returncode == 0, first.stderr
    killed = run_cli(
        tmp_path,
        "daily",
        "--symbols",
        "BTCUSDT",
        "--source",
        source,
        "--now",
        NOW.isoformat(),
        kill_after=1,
    )
    assert killed.returncode == -signal.SIGKILL
    store = LocalFeatureStore(str(tmp_path / "store"))
    assert store.read(CANDLES)["open_time"].max() == pd.Timestamp("2026-01-05", tz="UTC")
    assert store.read(FEATURES)["open_time"].max() == pd.Timestamp("2025-12-20", tz="UTC")
    args = ("--symbols", ",".join(SYMBOLS), "--source", source, "--now", NOW.isoformat())
    killed = run_cli(tmp_path, "backfill", *args, kill_after=2)  # BTC features, ETH candles
    assert killed.returncode == -signal.SIGKILL
    assert store.read(FEATURES, symbol="ETHUSDT").empty
    healed = run_cli(tmp_path, "daily", *args, "--json")
    assert healed.returncode == 0, healed.stderr
    report = {s["symbol"]: s for s in json.loads(healed.stdout)["symbols"]}
    assert report["ETHUSDT"]["candles_added"] == 0 and report["ETHUSDT"]["features_added"] > 2900
    assert fingerprints(store) == clean


def changed_csv(data_dir: Path, folder: Path, day: str, column: str, factor: float) -> Path:
    """A copy of the BTCUSDT and ETHUSDT candles with one BTCUSDT price multiplied."""
    folder.mkdir()
    for symbol in SYMBOLS:
        frame = pd.read_csv(data_dir / f"{symbol}_1d.csv")
        if symbol == "BTCUSDT":
            row = frame["timestamp"] == day
            frame.loc[row, column] *= factor
            if column == "close":  # keep high >= close >= low
                frame.loc[row, "high"] = frame.loc[row, ["high", "close"]].max(axis=1)
        frame.to_csv(folder / f"{symbol}_1d.csv", index=False)
    return folder


def test_a_corrected_range_rewrites_the_features_that_read_it(
    data_dir: Path, tmp_path: Path
) -> None:
    """It rewrites a corrected candle and every feature row that reads it when a backfill with
    --start fetches the range again, also when the first try died between the two commits."""
    corrected = changed_csv(data_dir, tmp_path / "corrected", "2025-06-01", "close", 1.01)
    path = str(tmp_path / "store")
    backfill_csv(LocalFeatureStore(path), data_dir)
    start = datetime(2025, 5, 1, tzinfo=UTC)
    with pytest.raises(Killed):
        backfill_csv(CrashAfter(path, 1), corrected, start=start)
    store = LocalFeatureStore(path)
    (summary, _eth) = backfill_csv(store, corrected, start=start).symbols
    assert summary.candles_written == 0 and summary.features_written > 100
    reference = LocalFeatureStore(str(tmp_path / "reference"))
    backfill_csv(reference, corrected)
    assert fingerprints(store) == fingerprints(reference)


def test_an_absurd_new_candle_is_judged_against_the_stored_ones(
    data_dir: Path, tmp_path: Path
) -> None:
    """It refuses a new candle whose high is 1e308 next to the stored history, writing nothing."""
    absurd = changed_csv(data_dir, tmp_path / "absurd", "2026-01-05", "high", 1e303)
    store = LocalFeatureStore(str(tmp_path / "store"))
    backfill_csv(store, data_dir, now=datetime(2026, 1, 5, 12, tzinfo=UTC))
    before = fingerprints(store)
    btc, eth = daily_csv(store, absurd).results
    assert btc.status == "error" and "2026-01-05 00:00 has high" in btc.message
    assert "more than 20 times away from the median close" in btc.message
    assert eth.status == OK and eth.candles_added == 1
    assert store.fingerprint(CANDLES) != before[0]  # ETHUSDT's new candle only
    assert store.read(CANDLES, symbol="BTCUSDT")["open_time"].max() == pd.Timestamp(
        "2026-01-04", tz="UTC"
    )
