"""`candlecast retrain`: its help, the age limit, doing nothing and saying why, a refit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_store import open_registry
from feature_store.base import served_version

NOW = "2026-01-06T12:00:00Z"  # mlp_home's model is fitted through the 2026-01-05 candle


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.fixture
def home(mlp_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared BTCUSDT home (read only here) as CANDLECAST_HOME, at its clock."""
    monkeypatch.setenv("CANDLECAST_HOME", str(mlp_home))
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    return mlp_home


def test_the_help_explains_the_limit_and_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    """It describes when a refit happens and every option."""
    assert main(["retrain", "--help"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.replace("│", " ").split())
    for words in ("--max-age", "30d, 12h, 2w", "--dry-run", "--json", "live monitor's rule"):
        assert words in flat


@pytest.mark.parametrize("value", ["30", "thirty", "1.5d", "-2d"])
def test_a_malformed_max_age_is_one_line_and_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """It refuses the value before opening anything, naming the accepted forms."""
    before = files(home)
    assert main(["retrain", "--max-age", value]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: --max-age") and "e.g. 30d, 12h or 2w" in line
    assert captured.out == "" and files(home) == before


def test_a_fresh_model_is_left_alone_and_the_json_says_why(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It does nothing to a model fitted through yesterday's candle and writes nothing."""
    before = files(home)
    assert main(["retrain", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["ok"], document["max_age_s"], document["dry_run"]) == (True, 30 * 86400, False)
    (series,) = document["series"]
    assert (series["symbol"], series["action"], series["new"]) == ("BTCUSDT", "none", None)
    assert "fitted through 2026-01-05, 12 hours old (limit 30 days)" in series["reason"]
    assert series["reason"].endswith(": nothing to do")
    assert series["old"]["name"].startswith("btcusdt-1d-")
    assert files(home) == before


def test_an_old_model_without_new_candles_is_left_alone(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It does not refit a model older than --max-age when no candle has closed since its
    fitting data ended, and names the command that brings the features up to date."""
    before = files(home)
    assert main(["retrain", "--max-age", "6h"]) == 0
    out = capsys.readouterr().out
    assert "12 hours old (limit 6 hours)" in out
    assert "no candle has closed since it was fitted" in out and "`candlecast daily`" in out
    assert files(home) == before


@pytest.fixture(scope="module")
def old_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose BTCUSDT model (quick, one MLP epoch) was trained on candles through
    2025-12-01, with the candles through 2026-01-05 stored since."""
    from datetime import datetime

    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run

    home = tmp_path_factory.mktemp("old-model-home")
    for now in ("2025-12-02T00:30:00+00:00", NOW.replace("Z", "+00:00")):
        settings = Settings(home=home, now=datetime.fromisoformat(now), symbols=("BTCUSDT",))
        source = open_source(settings, f"csv:{data_dir / 'BTCUSDT_1d.csv'}")
        backfill.run(settings, open_store(settings), source, ["BTCUSDT"], "1d", progress=False)
        if now.startswith("2025"):
            config = QUICK.with_overrides(models=("mlp",), epochs=1)
            registry = open_registry(settings)
            run(settings, open_store(settings), registry, config=config, progress=False)
    return home


def test_a_dry_run_says_what_it_would_refit_and_registers_nothing(
    old_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It plans the refit of a model older than --max-age and changes nothing."""
    monkeypatch.setenv("CANDLECAST_HOME", str(old_home))
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    before = files(old_home)
    assert main(["retrain", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "fitted through 2025-12-01, 35.5 days old (limit 30 days)" in out
    assert "refit with its recorded configuration" in out
    assert "dry run: nothing was refitted or registered" in out
    assert files(old_home) == before


def test_a_series_without_features_fails_naming_the_backfill(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It exits 1 and says which command fills the store."""
    assert main(["retrain", "--symbols", "ETHUSDT"]) == 1
    assert "`candlecast backfill --symbols ETHUSDT --interval 1d`" in capsys.readouterr().out


def test_an_old_model_is_refitted_and_served(
    old_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It refits a copy of the home whose model is older than --max-age, says so on stderr,
    and prints the newly served version."""
    home = Path(shutil.copytree(old_home, tmp_path / "home"))
    monkeypatch.setenv("CANDLECAST_HOME", str(home))
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    registry = open_registry(Settings.from_env())
    old = served_version(registry, "BTCUSDT", "1d")
    assert main(["retrain", "--max-age", "4w"]) == 0
    captured = capsys.readouterr()
    assert "BTCUSDT 1d: refitting (" in captured.err
    new = served_version(registry, "BTCUSDT", "1d")
    assert new.metrics["served_at"] > old.metrics["served_at"]
    assert f"registered {new.name} v{new.version} (fitted through 2026-01-05)" in captured.out
