"""`candlecast forecast` and `candlecast app --help` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest
from app_world import MLP, AppWorld

from candlecast_cli.app import main


@pytest.fixture
def env(world: AppWorld, monkeypatch: pytest.MonkeyPatch) -> AppWorld:
    """It points the CLI at the session's store and registry, with the demo's clock."""
    monkeypatch.setenv("CANDLECAST_HOME", str(world.home))
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-06T12:00:00Z")
    return world


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_documented_envelope(env: AppWorld, capsys, forecaster) -> None:
    """It prints the Forecaster's envelope: model, data_through and dated quantiles."""
    code, out, _ = run_cli(capsys, "forecast", "--symbol", "BTCUSDT", "--days", "7", "--json")
    assert code == 0
    data = json.loads(out)
    assert data == json.loads(json.dumps(forecaster.forecast("BTCUSDT", 7).to_dict()))
    assert data["data_through"] == "2026-01-05"
    assert [row["date"] for row in data["forecast"]][0] == "2026-01-06"
    assert len(data["forecast"]) == 7
    assert {"name", "version", "kind", "role", "trained_until", "age_candles"} <= set(data["model"])


def test_as_of_forecasts_from_an_earlier_candle(env: AppWorld, capsys, forecaster) -> None:
    """It forecasts from the --as-of candle as the Forecaster does, and warns when in sample."""
    from datetime import UTC, datetime

    args = ("forecast", "--days", "3", "--as-of", "2025-12-01", "--json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0
    data = json.loads(out)
    day = datetime(2025, 12, 1, tzinfo=UTC)
    assert data == json.loads(json.dumps(forecaster.forecast("BTCUSDT", 3, as_of=day).to_dict()))
    assert data["data_through"] == "2025-12-01" and data["forecast"][0]["date"] == "2025-12-02"
    assert "in sample" in err  # the served model was fitted through 2026-01-05


def test_text_table(env: AppWorld, capsys) -> None:
    """It prints a header naming model and data, then one line per day with the predicted
    candle's high and low and P(up)."""
    code, out, _ = run_cli(capsys, "forecast", "--steps", "3", "--model", f"{MLP}:1")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"BTCUSDT 1d · model {MLP}:1 (mlp, fitted through ")
    assert "candles old) · data through 2026-01-05" in lines[0]
    assert lines[1].split() == ["date", "median", "low", "(10%)", "high", "(90%)", "change"] + [
        "pred.",
        "high",
        "pred.",
        "low",
        "P(up)",
    ]
    assert [line.split()[0] for line in lines[2:]] == ["2026-01-06", "2026-01-07", "2026-01-08"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "31"], "candles ahead must be between 1 and 30, got 31"),
        (["--days", "0"], "between 1 and 30"),
        (["--symbol", "DOGEUSDT"], "unknown symbol DOGEUSDT: the store holds 1d features for"),
        (["--as-of", "2026-02-01"], "is after the last closed 1d candle of BTCUSDT (2026-01-05)"),
        (["--as-of", "2026-13-01"], "--as-of='2026-13-01' is not an ISO 8601 date"),
        (["--model", "nope:3"], "nope"),
        (["--model", f"{MLP}:x"], "NAME:VERSION"),
        (["--interval", "7m"], "interval '7m' is not supported"),
    ],
)
def test_bad_input_exits_1_with_one_line(
    env: AppWorld, capsys, args: list[str], message: str
) -> None:
    """It exits 1 with the Forecaster's message on one line and no traceback."""
    code, out, err = run_cli(capsys, "forecast", *args)
    assert code == 1
    assert out == ""
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_stale_data_fails_unless_allowed(
    env: AppWorld, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It refuses stale data with the fix, and forecasts with a warning under --allow-stale."""
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-09T00:00:00Z")
    code, _, err = run_cli(capsys, "forecast", "--days", "2")
    assert code == 1
    assert "stale data" in err and "candlecast daily --symbols BTCUSDT" in err
    assert "--allow-stale" in err
    code, out, err = run_cli(capsys, "forecast", "--days", "2", "--json", "--allow-stale")
    assert code == 0
    assert json.loads(out)["stale"] is True
    assert "warning: stale data" in err


def test_empty_store(tmp_path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """It tells the user to backfill when the store is empty."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    code, _, err = run_cli(capsys, "forecast")
    assert code == 1
    assert "holds no 1d features yet" in err and "candlecast backfill" in err


@pytest.mark.parametrize("command", ["forecast", "app"])
def test_help(capsys, command: str) -> None:
    """It documents every option."""
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    expected = (
        ["--symbol", "--days", "--model", "--json"]
        if command == "forecast"
        else ["--host", "--port"]
    )
    for option in expected:
        assert option in out


def test_app_on_a_busy_port_exits_1(env: AppWorld, capsys) -> None:
    """It says the port is taken and how to choose another, instead of Gradio's traceback."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run_cli(capsys, "app", "--host", "127.0.0.1", "--port", str(port))
    assert code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in err and "--port" in err
    assert "Traceback" not in err
