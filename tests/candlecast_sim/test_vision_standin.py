"""The simulator's Binance Vision routes: zips and .CHECKSUM files made from the shared candles."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from candlecast_sim.simulator import start_simulator

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
MONTHLY = "/data/spot/monthly/klines/BTCUSDT/1d/BTCUSDT-1d-"
DAILY = "/data/spot/daily/klines/BTCUSDT/4h/BTCUSDT-4h-"


@pytest.fixture(scope="module")
def sim(data_dir: Path):
    with start_simulator(data_dir, now=NOW) as simulator:
        yield simulator


def lines_of(archive: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        (name,) = opened.namelist()
        return opened.read(name).decode().splitlines()


def test_a_month_and_its_checksum(sim) -> None:
    """It serves a month's candles as a headerless 12-column CSV in a zip, with its SHA-256."""
    archive = requests.get(f"{sim.vision_url}{MONTHLY}2024-03.zip", timeout=30)
    listed = requests.get(f"{sim.vision_url}{MONTHLY}2024-03.zip.CHECKSUM", timeout=30)
    assert archive.status_code == listed.status_code == 200
    assert listed.text == f"{hashlib.sha256(archive.content).hexdigest()}  BTCUSDT-1d-2024-03.zip\n"
    rows = [line.split(",") for line in lines_of(archive.content)]
    assert len(rows) == 31 and all(len(row) == 12 for row in rows)
    assert rows[0][0] == str(int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1000))
    assert rows[0][7] == rows[0][8] == ""  # the 6-column file has no quote volume or trades


def test_from_2025_times_are_microseconds(sim) -> None:
    """It writes open and close times in microseconds from January 2025, as Binance does."""
    archive = requests.get(f"{sim.vision_url}{DAILY}2026-01-05.zip", timeout=30).content
    first = lines_of(archive)[0].split(",")
    opened = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1_000_000)
    assert (int(first[0]), int(first[6])) == (opened, opened + 4 * 3_600_000_000 - 1)


@pytest.mark.parametrize(
    "path",
    [
        f"{MONTHLY}2017-07.zip",  # before the listing
        f"{MONTHLY}2026-01.zip",  # the month has not ended
        f"{DAILY}2026-01-06.zip.CHECKSUM",  # nor has the day
        "/data/spot/monthly/klines/FOOUSDT/1d/FOOUSDT-1d-2024-03.zip",
        f"{MONTHLY}2024-13.zip",
        "/data/spot/monthly/klines/BTCUSDT/1d/ETHUSDT-1d-2024-03.zip",
    ],
)
def test_files_outside_the_data_are_404(sim, path: str) -> None:
    """It answers 404 (S3's NoSuchKey) for files Binance would not have."""
    answer = requests.get(f"{sim.vision_url}{path}", timeout=30)
    assert answer.status_code == 404 and "NoSuchKey" in answer.text


def test_corrupt_missing_and_header_switches(data_dir: Path) -> None:
    """It damages, hides or adds a header to chosen files, and counts every Vision request."""
    name = "BTCUSDT-1d-2024-03.zip"
    with start_simulator(data_dir, now=NOW) as simulator:
        url = f"{simulator.vision_url}{MONTHLY}2024-03.zip"
        clean = requests.get(url, timeout=30).content
        simulator.state.vision_corrupt.add(name)
        damaged = requests.get(url, timeout=30).content
        digest = requests.get(f"{url}.CHECKSUM", timeout=30).text.split()[0]
        assert len(damaged) == len(clean) and damaged != clean
        assert digest == hashlib.sha256(clean).hexdigest()
        simulator.state.vision_corrupt.clear()
        simulator.state.vision_header = True
        assert lines_of(requests.get(url, timeout=30).content)[0].startswith("open_time,open,")
        simulator.state.vision_missing.add(name)
        assert requests.get(url, timeout=30).status_code == 404
        assert len(simulator.state.vision_requests) == 5
        assert simulator.state.requests == 0  # REST requests are counted apart


def test_a_dropped_download_is_cut_short(data_dir: Path) -> None:
    """It serves the 'malformed' fault as a body cut mid-way (the client sees a broken read)."""
    with start_simulator(data_dir, now=NOW) as simulator:
        simulator.state.script.extend(["malformed", "500"])
        url = f"{simulator.vision_url}{MONTHLY}2024-03.zip"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(url, timeout=30)
        assert requests.get(url, timeout=30).status_code == 500
        assert requests.get(url, timeout=30).status_code == 200
