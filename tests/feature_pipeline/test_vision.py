"""Binance Vision's dumps as a source, against the simulator's Vision routes and its REST API."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from candlecast_sim.simulator import start_simulator

from candlecast.errors import SourceError, UnknownSymbolError
from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_pipeline import backfill
from feature_pipeline.binance import Backoff
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.source import open_source
from feature_pipeline.vision import Dump, plan_dumps, read_dump
from feature_store.local import LocalFeatureStore

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
FAST = Backoff(attempts=6, base=0.001, cap=0.005)
CORRUPT = "BTCUSDT-4h-2025-11.zip"
START_4H = datetime(2024, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim(data_dir: Path):
    """A simulator of our own, so the Vision requests counted are this module's."""
    with start_simulator(data_dir, now=NOW) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _reset_switches(sim):
    yield
    state = sim.state
    state.vision_corrupt.clear(), state.vision_missing.clear(), state.script.clear()
    state.vision_header = False


def settings_for(sim, home: Path) -> Settings:
    return Settings(home=home, binance_api_url=sim.url, binance_vision_url=sim.vision_url, now=NOW)


def source(sim, home: Path, spec: str = "vision"):
    return open_source(settings_for(sim, home), spec, backoff=FAST, rng=random.Random(0))


def store_of(home: Path) -> LocalFeatureStore:
    return LocalFeatureStore(str(home / "store"))


def backfilled(sim, home: Path, spec: str, symbols, interval: str, start=None):
    store = store_of(home)
    config = settings_for(sim, home)
    chosen = source(sim, home, spec)
    summary = backfill.run(config, store, chosen, symbols, interval, start, progress=False)
    return store, summary


def fingerprints(store: LocalFeatureStore) -> tuple[str, str]:
    return store.fingerprint(CANDLES), store.fingerprint(FEATURES)


def zips_asked(sim, since: int = 0) -> list[str]:
    return [p.rsplit("/", 1)[1] for p in sim.state.vision_requests[since:] if p.endswith(".zip")]


@pytest.fixture(scope="module")
def rest_4h(sim, tmp_path_factory) -> LocalFeatureStore:
    """BTCUSDT 4h from 2024-10-01 through REST: the reference the Vision backfills must equal."""
    store, _ = backfilled(
        sim, tmp_path_factory.mktemp("rest"), "binance", ["BTCUSDT"], "4h", START_4H
    )
    return store


def test_vision_backfill_equals_rest_backfill_full_history(sim, tmp_path: Path) -> None:
    """It stores exactly the candles and features of a REST backfill (BTCUSDT 1d, all of it)."""
    vision, summary = backfilled(sim, tmp_path / "vision", "vision", ["BTCUSDT"], "1d")
    rest, _ = backfilled(sim, tmp_path / "rest", "binance", ["BTCUSDT"], "1d")
    assert summary.symbols[0].candles_written == 3064
    assert summary.symbols[0].last_closed == datetime(2026, 1, 5, tzinfo=UTC)
    assert fingerprints(vision) == fingerprints(rest)
    assert summary.source.startswith(f"vision ({sim.vision_url})")


def test_ms_and_us_dumps_and_the_rest_fill_equal_rest(sim, rest_4h, tmp_path: Path) -> None:
    """It reads ms dumps (2024) and µs dumps (2025 on), and fills 2026-01-06 through REST."""
    before = len(sim.state.vision_requests)
    vision, summary = backfilled(sim, tmp_path, "vision", ["BTCUSDT"], "4h", START_4H)
    assert fingerprints(vision) == fingerprints(rest_4h)
    asked = zips_asked(sim, before)
    assert "BTCUSDT-4h-2024-10.zip" in asked and "BTCUSDT-4h-2025-12.zip" in asked
    assert asked[-1] == "BTCUSDT-4h-2026-01-05.zip"  # the last dump; 01-06 has not ended
    assert summary.symbols[0].last_closed == datetime(2026, 1, 6, 8, tzinfo=UTC)


def test_the_rest_fill_starts_after_the_last_dump(sim, tmp_path: Path) -> None:
    """It asks REST only for the candles after the newest daily zip (2026-01-06 00:00-08:00)."""
    vision = source(sim, tmp_path)
    rest_before = sim.state.requests
    frame, report = vision.fetch("BTCUSDT", "4h", start=datetime(2026, 1, 4, tzinfo=UTC))
    assert frame["open_time"].iloc[-1] == pd.Timestamp("2026-01-06 08:00", tz="UTC")
    assert len(frame) == 15 and not report.gaps
    rest_asked = sim.state.requests - rest_before
    assert 0 < rest_asked <= 5  # server time, the last-candle probe, one page
    assert vision.rest.requests == rest_asked
    assert report.requests == vision.requests + rest_asked


@pytest.mark.parametrize(
    "missing",
    [
        {"BTCUSDT-4h-2025-12.zip"},  # the month is not published yet: its daily zips
        {"BTCUSDT-4h-2025-12.zip", "BTCUSDT-4h-2025-12-20.zip"},  # they end on the 19th
        {"BTCUSDT-4h-2025-11.zip", "BTCUSDT-4h-2025-11-01.zip"},  # nothing since November
    ],
)
def test_unpublished_dumps_fall_back_to_daily_zips_then_rest(
    sim, tmp_path: Path, missing: set[str]
) -> None:
    """It reads daily zips for a month without its zip, and REST where the dumps end."""
    sim.state.vision_missing |= missing
    window = {"start": datetime(2025, 10, 15, tzinfo=UTC), "end": datetime(2026, 1, 6, tzinfo=UTC)}
    frame, report = source(sim, tmp_path).fetch("BTCUSDT", "4h", **window)
    expected, _ = source(sim, tmp_path, "binance").fetch("BTCUSDT", "4h", **window)
    pd.testing.assert_frame_equal(frame, expected)
    assert report.rows == len(expected) and not report.gaps


def test_months_before_the_listing_are_skipped(sim, tmp_path: Path) -> None:
    """It passes over the 404s of the months before BTCUSDT's first candle (2017-08-17)."""
    window = {"start": datetime(2017, 1, 1, tzinfo=UTC), "end": datetime(2017, 10, 31, tzinfo=UTC)}
    vision = source(sim, tmp_path)
    frame, _ = vision.fetch("BTCUSDT", "1d", **window)
    expected, _ = source(sim, tmp_path, "binance").fetch("BTCUSDT", "1d", **window)
    pd.testing.assert_frame_equal(frame, expected)
    assert vision.downloads == 3  # August, September, October 2017


def test_a_corrupt_zip_is_refused_and_nothing_is_written(sim, rest_4h, tmp_path: Path) -> None:
    """It refuses a zip whose SHA-256 differs from its .CHECKSUM: one line naming it, no rows
    stored, the zip not cached; the next run downloads it anew and completes."""
    sim.state.vision_corrupt.add(CORRUPT)
    with pytest.raises(SourceError) as refused:
        backfilled(sim, tmp_path, "vision", ["BTCUSDT"], "4h", START_4H)
    message = str(refused.value)
    assert CORRUPT in message and "checksum" in message and "\n" not in message
    assert store_of(tmp_path).list_groups() == []
    assert not list((tmp_path / "cache").rglob(CORRUPT))
    assert list((tmp_path / "cache").rglob("BTCUSDT-4h-2025-10.zip"))  # checked ones are kept
    sim.state.vision_corrupt.clear()
    before = len(sim.state.vision_requests)
    store, _ = backfilled(sim, tmp_path, "vision", ["BTCUSDT"], "4h", START_4H)
    assert fingerprints(store) == fingerprints(rest_4h)
    assert zips_asked(sim, before)[0] == CORRUPT


def test_cached_zips_are_not_downloaded_again(sim, tmp_path: Path) -> None:
    """It reads zips from CANDLECAST_HOME/cache again without asking for them (or their
    checksums); a cached zip damaged on disk is downloaded anew."""
    start = datetime(2025, 6, 1, tzinfo=UTC)
    first = source(sim, tmp_path)
    frame, _ = first.fetch("BTCUSDT", "4h", start=start)
    assert first.downloads == 12  # 2025-06 .. 2025-12 and 2026-01-01 .. 05
    before = len(sim.state.vision_requests)
    again = source(sim, tmp_path)
    pd.testing.assert_frame_equal(again.fetch("BTCUSDT", "4h", start=start)[0], frame)
    assert again.downloads == 0 and again.requests == 0
    assert sim.state.vision_requests[before:] == []
    cached = next((tmp_path / "cache").rglob("BTCUSDT-4h-2025-07.zip"))
    cached.write_bytes(cached.read_bytes()[:-10])
    third = source(sim, tmp_path)
    pd.testing.assert_frame_equal(third.fetch("BTCUSDT", "4h", start=start)[0], frame)
    assert zips_asked(sim, before) == ["BTCUSDT-4h-2025-07.zip"]


def test_microsecond_dumps_with_and_without_a_header(sim, tmp_path: Path) -> None:
    """It reads 2025's µs dumps (16-digit times), also with a header row, like REST's ms."""
    expected, _ = source(sim, tmp_path, "binance").fetch("BTCUSDT", "1m")
    plain, _ = source(sim, tmp_path / "plain").fetch("BTCUSDT", "1m")
    sim.state.vision_header = True
    headed, _ = source(sim, tmp_path / "headed").fetch("BTCUSDT", "1m")
    assert len(expected) == 14_401
    pd.testing.assert_frame_equal(plain, expected)
    pd.testing.assert_frame_equal(headed, expected)
    archive = next((tmp_path / "headed").rglob("BTCUSDT-1m-2025-08.zip")).read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        lines = opened.read("BTCUSDT-1m-2025-08.csv").decode().splitlines()
    assert lines[0].startswith("open_time,") and len(lines[1].split(",")[0]) == 16


def test_read_dump_takes_ms_and_us_alike(tmp_path: Path) -> None:
    """It reads the same candles from a ms dump and a µs dump."""
    dump = Dump("daily", "BTCUSDT", "1h", datetime(2025, 1, 1, tzinfo=UTC))
    rows = [(1735689600000 + i * 3_600_000, 1735693199999 + i * 3_600_000) for i in range(3)]

    def zipped(scale: int) -> bytes:
        text = "".join(
            f"{o * scale},1.0,2.0,0.5,1.5,10.0,{c * scale + scale - 1},15.0,7,5.0,7.5,0\n"
            for o, c in rows
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("BTCUSDT-1h-2025-01-01.csv", text)
        return buffer.getvalue()

    ms, us = read_dump(zipped(1), dump), read_dump(zipped(1000), dump)
    pd.testing.assert_frame_equal(ms, us)
    assert ms["open_time"].iloc[0] == pd.Timestamp("2025-01-01", tz="UTC")
    assert ms["close_time"].iloc[0] == pd.Timestamp("2025-01-01 00:59:59.999", tz="UTC")
    with pytest.raises(SourceError, match="BTCUSDT-1h-2025-01-01.zip is not a readable zip"):
        read_dump(b"PK but not a zip", dump)


def test_transient_failures_are_retried(sim, tmp_path: Path) -> None:
    """It asks again after a 500, a 429 and a download cut short, and gets the same candles."""
    window = {"start": datetime(2025, 9, 1, tzinfo=UTC), "end": datetime(2025, 10, 31, tzinfo=UTC)}
    expected, _ = source(sim, tmp_path, "binance").fetch("BTCUSDT", "4h", **window)
    sim.state.retry_after = 0
    sim.state.script.extend(["500", "429", None, "malformed"])
    vision = source(sim, tmp_path)
    frame, report = vision.fetch("BTCUSDT", "4h", **window)
    sim.state.retry_after = 1
    pd.testing.assert_frame_equal(frame, expected)
    assert vision.retries == 3 and report.retries >= 3


def test_an_unknown_symbol_is_one_line(sim, tmp_path: Path) -> None:
    """It refuses a symbol Binance does not know before anything is asked of Vision."""
    before = len(sim.state.vision_requests)
    with pytest.raises(UnknownSymbolError) as refused:
        backfilled(sim, tmp_path, "vision", ["BTCUSDT", "FOOUSDT"], "1d")
    assert "FOOUSDT" in str(refused.value) and "\n" not in str(refused.value)
    assert sim.state.vision_requests[before:] == []
    assert store_of(tmp_path).list_groups() == []


def test_an_unreachable_site_is_one_line_after_a_few_quick_attempts(tmp_path: Path) -> None:
    """It names BINANCE_VISION_URL when nothing listens there (the discard port)."""
    config = Settings(home=tmp_path, binance_vision_url="http://127.0.0.1:9", now=NOW)
    waits: list[float] = []
    vision = open_source(config, "vision", backoff=Backoff(), sleep=waits.append)
    with pytest.raises(SourceError, match="BINANCE_VISION_URL") as refused:
        vision.fetch("BTCUSDT", "1d", start=datetime(2025, 1, 1, tzinfo=UTC))
    assert "connection was refused" in str(refused.value) and len(waits) == 2


def test_plan_months_then_days_of_the_current_month() -> None:
    """It plans a zip per ended month, then per ended day of the month containing now."""
    plan = plan_dumps(
        "BTCUSDT",
        "1h",
        datetime(2025, 11, 20, tzinfo=UTC),
        datetime(2026, 1, 3, 5, tzinfo=UTC),
        datetime(2026, 1, 3, 6, tzinfo=UTC),
    )
    assert [d.name for d in plan] == [
        "BTCUSDT-1h-2025-11.zip",
        "BTCUSDT-1h-2025-12.zip",
        "BTCUSDT-1h-2026-01-01.zip",
        "BTCUSDT-1h-2026-01-02.zip",
    ]
    assert plan[0].path == "data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2025-11.zip"
    assert len(plan[1].days()) == 31 and plan[1].days()[-1].end == plan[2].first


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(sim, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("BINANCE_API_URL", sim.url)
    monkeypatch.setenv("BINANCE_VISION_URL", sim.vision_url)
    monkeypatch.setenv("CANDLECAST_NOW", NOW.isoformat())
    return tmp_path


def test_cli_backfill_from_vision(cli_env: Path, rest_4h, capsys) -> None:
    """`candlecast backfill --source vision` stores what REST stores, and a rerun nothing."""
    args = ["backfill", "--symbols", "BTCUSDT", "--interval", "4h", "--source", "vision"]
    assert main([*args, "--start", "2024-10-01", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["source"].startswith("vision (")
    assert summary["symbols"][0]["last_closed"] == "2026-01-06T08:00:00+00:00"
    assert fingerprints(store_of(cli_env)) == fingerprints(rest_4h)
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["symbols"][0]["candles_written"] == 0
    digest = next(cli_env.rglob("BTCUSDT-4h-2025-03.zip.CHECKSUM")).read_text().strip()
    archive = next(cli_env.rglob("BTCUSDT-4h-2025-03.zip")).read_bytes()
    assert hashlib.sha256(archive).hexdigest() == digest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "FOOUSDT"], "FOOUSDT"),
        (["--symbols", "BTCUSDT", "--interval", "4h", "--start", "2025-10-01"], CORRUPT),
    ],
)
def test_cli_errors_are_one_line(sim, cli_env: Path, capsys, args, message) -> None:
    """It exits 1 with one line for an unknown symbol and for a zip that fails its checksum."""
    sim.state.vision_corrupt.add(CORRUPT)
    assert main(["backfill", "--source", "vision", *args]) == 1
    # what stays on the terminal: the progress bar redraws with \r and clears itself
    err = [line.rsplit("\r", 1)[-1] for line in capsys.readouterr().err.split("\n")]
    err = [line for line in err if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (cli_env / "store").exists() or store_of(cli_env).list_groups() == []
