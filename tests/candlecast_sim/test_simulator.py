"""The Binance simulator over the shared candles, spoken to over plain HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from candlecast_sim.simulator import start_simulator

NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000


def get(url: str) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def sim(data_dir: Path):
    with start_simulator(data_dir, now=NOW) as simulator:
        yield simulator


def test_ping_time_and_exchange_info(sim) -> None:
    """It answers ping, its fixed clock and the symbols it serves (delisted ones in BREAK)."""
    assert get(f"{sim.url}/v3/ping")[2] == {}
    assert get(f"{sim.url}/v3/time")[2] == {"serverTime": NOW_MS}
    info = get(f"{sim.url}/v3/exchangeInfo")[2]
    status = {s["symbol"]: s["status"] for s in info["symbols"]}
    assert status["BTCUSDT"] == "TRADING"
    assert status["MATICUSDT"] == "BREAK"
    assert get(f"{sim.url}/v3/exchangeInfo?symbol=FOOUSDT")[2]["code"] == -1121


def test_first_candle_probe(sim) -> None:
    """It answers python-binance's startTime=0&limit=1 probe with the first candle."""
    _, _, rows = get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&startTime=0&limit=1")
    assert len(rows) == 1
    assert rows[0][0] == int(datetime(2017, 8, 17, tzinfo=UTC).timestamp() * 1000)
    assert rows[0][6] == rows[0][0] + DAY_MS - 1
    assert rows[0][1:6] == ["4261.48", "4485.39", "4200.74", "4285.08", "795.150377"]


def test_pages_are_limited_and_in_range(sim) -> None:
    """It serves at most `limit` candles from startTime, none after endTime."""
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
    url = f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&startTime={start}"
    rows = get(f"{url}&limit=1000")[2]
    assert len(rows) == 1000
    assert [r[0] for r in rows] == [start + i * DAY_MS for i in range(1000)]
    assert len(get(f"{url}&endTime={start + 9 * DAY_MS}&limit=1000")[2]) == 10
    assert get(f"{url}&limit=1001")[2]["code"] == -1130


def test_the_candle_containing_now_is_open_and_later_ones_do_not_exist(sim) -> None:
    """It serves the candle containing --now as still open (partial volume) and nothing later."""
    rows = get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&limit=3")[2]
    last = rows[-1]
    assert last[0] == NOW_MS - 12 * 3_600_000  # 2026-01-06 00:00
    assert last[6] > NOW_MS
    full = 5042.0  # the file's (already partial) 2026-01-06 volume is about 5,042
    assert 0 < float(last[5]) < full
    later = NOW_MS + DAY_MS
    assert get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&startTime={later}")[2] == []


def test_missing_fields_are_null_and_present_ones_served(sim) -> None:
    """It sends quote volume and trades as null for 6-column files, and their values otherwise."""
    daily = get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&startTime=0&limit=1")[2][0]
    assert daily[7] is None and daily[8] is None
    minute = get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=1")[2][0]
    assert minute[7] == "1374354.6403012" and minute[8] == 1421


def test_binance_error_bodies(sim) -> None:
    """It answers bad requests like Binance: HTTP 400 with a code and a message."""
    status, _, body = get(f"{sim.url}/v3/klines?symbol=FOOUSDT&interval=1d")
    assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=2d")[2]["code"] == -1120
    assert get(f"{sim.url}/v3/klines?interval=1d")[2]["code"] == -1102


def test_weight_header_grows(sim) -> None:
    """It reports the weight used this minute in X-MBX-USED-WEIGHT-1M."""
    first = int(get(f"{sim.url}/v3/ping")[1]["X-MBX-USED-WEIGHT-1M"])
    page = get(f"{sim.url}/v3/klines?symbol=BTCUSDT&interval=1d&limit=1000")
    second = int(page[1]["X-MBX-USED-WEIGHT-1M"])
    assert (
        second >= first + 5 or second < first
    )  # +5 for a 1000-candle page, unless a minute turned


def test_over_the_weight_limit_is_429(data_dir: Path) -> None:
    """It refuses requests over its weight limit with 429, -1003 and Retry-After."""
    with start_simulator(data_dir, now=NOW, weight_limit=3) as simulator:
        answers = [get(f"{simulator.url}/v3/ping") for _ in range(5)]
    status, headers, body = answers[-1]
    assert status == 429 and body["code"] == -1003 and 0 < int(headers["Retry-After"]) <= 60


def faults_for(data_dir: Path, seed: int) -> list[str]:
    with start_simulator(
        data_dir, now=NOW, fault_rate=0.5, seed=seed, slow_seconds=0.01
    ) as simulator:
        for _ in range(30):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"{simulator.url}/v3/time", timeout=60).read()
        return list(simulator.state.faults_served)


def test_faults_are_reproducible_by_seed(data_dir: Path) -> None:
    """It fails the same requests in the same way for the same seed, and differently for another."""
    first, again, other = faults_for(data_dir, 1), faults_for(data_dir, 1), faults_for(data_dir, 2)
    assert first == again
    assert first != other
    assert 5 <= len(first) <= 25


def test_fault_kinds(data_dir: Path) -> None:
    """It serves each fault as Binance fails: status, Retry-After, a broken or empty body."""
    with start_simulator(data_dir, now=NOW, retry_after=3) as simulator:
        simulator.state.script.extend(["429", "418", "500", "malformed", "empty"])
        url = f"{simulator.url}/v3/klines?symbol=BTCUSDT&interval=1d&limit=5"
        throttled, banned, broken = get(url), get(url), get(url)
        malformed = urllib.request.urlopen(url, timeout=60).read()
        empty = get(url)
    assert (throttled[0], throttled[1]["Retry-After"]) == (429, "3")
    assert (banned[0], banned[1]["Retry-After"]) == (418, "3")
    assert broken[0] == 500
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed)
    assert empty[2] == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_serves_until_stopped(data_dir: Path) -> None:
    """It runs from `candlecast binance-sim` with --now and stops cleanly on SIGTERM."""
    port = free_port()
    command = [sys.executable, "-m", "candlecast_cli", "binance-sim", "--data", str(data_dir)]
    command += ["--port", str(port), "--now", "2026-01-06T12:00:00Z"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert f"http://127.0.0.1:{port}/api" in process.stdout.readline()
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get(f"http://127.0.0.1:{port}/api/v3/time")[2] == {"serverTime": NOW_MS}
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=60)
