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
