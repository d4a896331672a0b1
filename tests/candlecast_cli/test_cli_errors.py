"""The CLI's error handling: one readable line and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from candlecast_cli.app import main

CANDLECAST = str(Path(sys.executable).with_name("candlecast"))


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CANDLECAST, *args], capture_output=True, text=True, env=env, timeout=120)


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """It prints help for the app and for status, exiting 0."""
    assert main(["--help"]) == 0
    assert "status" in capsys.readouterr().out
    assert main(["status", "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_an_unknown_command_or_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """It exits 2 with typer's usage message for unknown commands and options."""
    assert main(["no-such-command"]) == 2
    assert main(["status", "--no-such-option"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_unknown_setting_exits_1_with_one_line(tmp_path: Path) -> None:
    """It reports a misspelt CANDLECAST_* variable in one line on stderr and exits 1."""
    env = {"PATH": "/usr/bin:/bin", "CANDLECAST_HOME": str(tmp_path), "CANDLECAST_HOEM": "x"}
    done = _run("status", env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "CANDLECAST_HOEM" in lines[0] and "CANDLECAST_HOME" in lines[0]


def test_a_store_error_exits_1_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It turns a broken store (a table folder with a corrupt log) into one error line."""
    table = tmp_path / "store" / "candles_v1" / "_delta_log"
    table.mkdir(parents=True)
    (table / "00000000000000000000.json").write_text("not json\n")
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "candles_v1" in err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["app", "--port", "70000"], "--port 70000 is not a TCP port; use 1 to 65535"),
        (["app", "--port", "0"], "--port 0 is not a TCP port; use 1 to 65535"),
        (["app", "--port", "-1"], "--port -1 is not a TCP port"),
        (["binance-sim", "--data", ".", "--port", "99999"], "use 0 to 65535 (0 picks a free one)"),
        (["binance-sim", "--data", ".", "--port", "-1"], "--port -1 is not a TCP port"),
    ],
)
def test_a_port_out_of_range_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """It refuses a port outside what TCP allows before serving anything, exiting 1."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    assert main(args) == 1
    assert message in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("args", "clock"),
    [
        (["backfill", "--now", "1900-01-01"], None),
        (["daily", "--now", "1900-01-01"], None),
        (["backfill"], "1900-01-01"),
        (["daily"], "1900-01-01T00:00:00Z"),
        (["status"], "1900-01-01"),
        (["daily", "--now", "2100-01-01"], None),
    ],
    ids=["backfill --now", "daily --now", "backfill env", "daily env", "status env", "future"],
)
def test_a_clock_before_bitcoin_or_in_the_future_is_one_line(
    tmp_path: Path, data_dir: Path, args: list[str], clock: str | None
) -> None:
    """It refuses --now / CANDLECAST_NOW outside 2009-01-03 .. tomorrow, writing nothing."""
    env = {"PATH": "/usr/bin:/bin", "CANDLECAST_HOME": str(tmp_path / "home")}
    if clock:
        env["CANDLECAST_NOW"] = clock
    source = ["--source", f"csv:{data_dir}"] if args[0] != "status" else []
    done = _run(*args, *source, env=env)
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert "(--now or CANDLECAST_NOW) is outside 2009-01-03 .." in line
    assert "pass a time when candles existed" in line
    assert not (tmp_path / "home").exists()


def test_an_unknown_log_level_is_one_line_but_help_still_works(tmp_path: Path) -> None:
    """It refuses CANDLECAST_LOG_LEVEL=BOGUS naming the levels, and still prints --help."""
    env = {"PATH": "/usr/bin:/bin", "CANDLECAST_HOME": str(tmp_path)}
    env["CANDLECAST_LOG_LEVEL"] = "BOGUS"
    done = _run("status", env=env)
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert "CANDLECAST_LOG_LEVEL='BOGUS'" in line
    assert "use one of: DEBUG, INFO, WARNING, ERROR, CRITICAL" in line
    helped = _run("--help", env=env)
    assert helped.returncode == 0 and "backfill" in helped.stdout and not helped.stderr
