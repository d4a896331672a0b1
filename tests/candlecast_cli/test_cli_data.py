"""`candlecast backfill` from the command line, against the simulator and CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from candlecast_cli.app import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, binance_sim: str) -> Path:
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BINANCE_API_URL", binance_sim)
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-06T12:00:00Z")
    return tmp_path


def test_backfill_json_then_nothing_new(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It prints a JSON summary per symbol, and writes nothing the second time."""
    args = [
        "backfill",
        "--symbols",
        "btcusdt,ETHUSDT",
        "--interval",
        "1d",
        "--start",
        "2025-06-01",
        "--json",
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert [s["symbol"] for s in first["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = first["symbols"][0]
    # 2025-06-01 .. 2026-01-05, and the 138 candles before --start its first feature row reads
    assert (btc["features_written"], btc["candles_written"]) == (219, 219 + 138)
    assert btc["last_closed"] == "2026-01-05T00:00:00+00:00"
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert all(s["candles_written"] == s["features_written"] == 0 for s in again["symbols"])


def test_backfill_table_reports_gaps(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It prints a readable table and one line per gap and stopped symbol."""
    args = [
        "backfill",
        "--symbols",
        "BTCUSDT,MATICUSDT",
        "--interval",
        "4h",
        "--start",
        "2020-01-01",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "BTCUSDT" in out and "last closed" in out
    assert "1 candle(s) missing between 2020-02-19 08:00 and 2020-02-19 16:00" in out
    assert "MATICUSDT: no candles after 2024-09-10 00:00" in out


def test_backfill_from_csv_with_now(env: Path, data_dir: Path, capsys) -> None:
    """It reads csv:PATH and closes candles by --now."""
    args = ["backfill", "--symbols", "BTCUSDT", "--interval", "1m", "--source", f"csv:{data_dir}"]
    assert main([*args, "--now", "2025-08-01T02:00:30Z", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["symbols"][0]
    assert summary["last_closed"] == "2025-08-01T01:59:00+00:00"
    assert summary["candles_written"] == 120


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "BTCUSDT,FOOUSDT"], "FOOUSDT"),
        (["--interval", "2d"], "interval '2d' is not supported"),
        (["--start", "last tuesday"], "--start"),
        (["--source", "ftp:x"], "csv:PATH"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(env: Path, capsys, args: list[str], message: str) -> None:
    """It prints one readable error line, no traceback, and exits 1."""
    assert main(["backfill", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (env / "home" / "store").exists() or not any((env / "home" / "store").iterdir())


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_a_start_after_the_end_is_refused_before_fetching(
    env: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It refuses --start after --end in one line and neither fetches nor writes anything."""
    source = ["--source", f"csv:{data_dir}"]
    args = ["backfill", *source, "--start", "2025-06-01", "--end", "2025-05-01"]
    assert main(args) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == (
        "error: --start 2025-06-01 00:00 is after --end 2025-05-01 00:00; "
        "pass a start on or before the end"
    )
    assert not (env / "home").exists()
    assert main([*args[:-1], "2025-06-01", "--json"]) == 0  # start == end: that one candle
    summary = json.loads(capsys.readouterr().out)["symbols"][0]
    assert summary["last_closed"] == "2025-06-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 4, "BTCUSDT_1d.csv: not a text kline CSV"),
        (
            b"timestamp,open,high,low,close,volume\n2025-01-01,1,2,0.5,abc,10\n",
            "BTCUSDT_1d.csv: column close must hold numbers, but row 1 "
            "(the candle opening 2025-01-01 00:00) has 'abc'",
        ),
    ],
    ids=["binary", "text-close"],
)
def test_a_broken_csv_is_one_line_and_writes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    """It reports an unreadable file or a non-numeric value in one line, exit 1, nothing stored."""
    (env / "csv").mkdir()
    (env / "csv" / "BTCUSDT_1d.csv").write_bytes(content)
    assert main(["backfill", "--source", f"csv:{env / 'csv'}"]) == 1
    assert message in _one_error_line(capsys.readouterr().err)
    assert not (env / "home").exists()
