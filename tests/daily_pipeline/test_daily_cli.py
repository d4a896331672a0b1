"""`candlecast daily`: options, CANDLECAST_NOW, the summary for people and scripts, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from daily_market import Market

from candlecast_cli.app import main


@pytest.fixture
def cli_env(market: Market, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setenv("CANDLECAST_HOME", str(market.home))
    monkeypatch.setenv("BINANCE_API_URL", market.simulator.url)
    return market


def daily_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["daily", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_json_summary_with_now_option(cli_env: Market, capsys: pytest.CaptureFixture[str]) -> None:
    """It prints one JSON entry per symbol, with the clock --now fixed, and exits 0."""
    cli_env.simulator.state.now = None  # the exchange runs ahead; --now decides what is closed
    code, summary = daily_json(capsys, "--symbols", "btcusdt,ETHUSDT", "--now", "2025-03-01T00:05Z")
    assert code == 0
    assert summary["now"] == "2025-03-01T00:05:00+00:00"
    assert summary["ok"] is True
    assert [(s["symbol"], s["status"], s["last_closed"]) for s in summary["symbols"]] == [
        ("BTCUSDT", "ok", "2025-02-28T00:00:00+00:00"),
        ("ETHUSDT", "ok", "2025-02-28T00:00:00+00:00"),
    ]
    code, again = daily_json(capsys, "--symbols", "BTCUSDT", "--now", "2025-03-01T00:05Z")
    assert (code, again["symbols"][0]["status"], again["symbols"][0]["candles_added"]) == (
        0,
        "up-to-date",
        0,
    )


def test_candlecast_now_fixes_the_clock(
    cli_env: Market, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It takes the clock from CANDLECAST_NOW when --now is not given."""
    monkeypatch.setenv("CANDLECAST_NOW", "2025-03-01T00:05:00Z")
    code, summary = daily_json(capsys, "--symbols", "BTCUSDT")
    assert code == 0
    assert summary["symbols"][0]["last_closed"] == "2025-02-28T00:00:00+00:00"
    monkeypatch.setenv("CANDLECAST_NOW", "2025-03-04T00:05:00Z")
    cli_env.simulator.state.now = None
    code, summary = daily_json(capsys, "--symbols", "BTCUSDT")
    assert summary["symbols"][0]["candles_added"] == 3


def test_table_for_people_and_exit_code_on_failure(
    cli_env: Market, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It prints a table and exits 1 when a symbol fails, after updating the others."""
    code = main(["daily", "--symbols", "NOSUCHCOIN,BTCUSDT", "--now", "2025-03-01T00:05Z"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["symbol", "interval", "status"]
    assert lines[1].split()[:3] == ["NOSUCHCOIN", "1d", "error"]
    days = pd.read_csv(data_dir / "BTCUSDT_1d.csv")["timestamp"]
    assert lines[2].split()[:4] == ["BTCUSDT", "1d", "ok", str((days < "2025-03-01").sum())]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "2d"], "interval '2d' is not supported"),
        (["--now", "yesterday"], "--now='yesterday' is not an ISO 8601"),
        (["--symbols", "btc-usdt"], "is not a valid Binance pair"),
        (["--source", "ftp://x"], "source 'ftp://x' is not known"),
    ],
)
def test_bad_options_print_one_line_and_exit_1(
    cli_env: Market, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """It rejects bad input with a one-line error, no traceback."""
    assert main(["daily", *args]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
