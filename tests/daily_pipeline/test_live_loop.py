"""The live loop end to end: a 36-day replay of the daily run logs and scores forecasts,
`monitor` reports them, a second replay changes nothing, and a SIGKILL heals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from replay import FIRST_RUN, LAST_RUN, REPLAY_DAYS, REPLAY_START, SYMBOLS

from candlecast.settings import Settings
from candlecast_cli.app import main
from daily_pipeline.groups import LIVE, OUTCOMES, PREDICTIONS
from daily_pipeline.run import run as daily
from feature_pipeline import backfill
from feature_pipeline.groups import CANDLES, FEATURES
from feature_pipeline.source import open_source
from feature_store import open_registry
from feature_store.local import LocalFeatureStore

GROUPS = (CANDLES, FEATURES, PREDICTIONS, OUTCOMES)
HOOK = Path(__file__).parents[1] / "feature_pipeline" / "kill_hook"
CANDLECAST = Path(sys.executable).with_name("candlecast")


def fingerprints(home: Path) -> dict[str, str]:
    store = LocalFeatureStore(str(home / "store"))
    return {spec.name: store.fingerprint(spec) for spec in GROUPS}


def served_model(home: Path, symbol: str) -> str:
    from daily_pipeline.predictions import served_name

    return served_name(open_registry(Settings(home=home)), symbol, "1d")


def test_the_replay_logs_every_day_of_every_symbol_as_live(replay_home: Path) -> None:
    """It logged h = 1..30 from each of the 36 origins for the served model and both
    baselines, each made 30 minutes after its origin candle closed."""
    store = LocalFeatureStore(str(replay_home / "store"))
    days = pd.date_range(REPLAY_START, periods=REPLAY_DAYS, freq="D", tz="UTC")
    for symbol in SYMBOLS:
        log = store.read(PREDICTIONS, symbol=symbol)
        served = served_model(replay_home, symbol)
        models = set(log["model"])
        assert {served, f"{symbol.lower()}-1d-persistence", f"{symbol.lower()}-1d-garch"} <= models
        for model in models:
            mine = log.loc[log["model"] == model]
            assert list(pd.DatetimeIndex(sorted(mine["origin_time"].unique()))) == list(days)
            assert mine.groupby("origin_time")["horizon"].apply(sorted).map(len).eq(30).all()
        assert set(log["kind"]) == {LIVE}
        made = pd.DatetimeIndex(log["made_at"]) - pd.DatetimeIndex(log["origin_time"])
        assert set(made) == {pd.Timedelta(days=1, minutes=30)}
        assert log.loc[log["model"] == served, "served"].all()


def test_monitor_reports_the_scored_live_forecasts(
    replay_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It reports 35 scored h = 1 forecasts per model (36 origins, the last one's target still
    open), judged on the last 30, and exits 3 exactly when a served model is degraded."""
    monkeypatch.setenv("CANDLECAST_HOME", str(replay_home))
    monkeypatch.setenv("CANDLECAST_NOW", LAST_RUN.isoformat())
    code = main(["monitor", "--symbols", ",".join(SYMBOLS), "--json"])
    report = json.loads(capsys.readouterr().out)
    series = {s["symbol"]: s for s in report["series"]}
    assert set(series) == set(SYMBOLS)
    for symbol, s in series.items():
        assert s["served"] == served_model(replay_home, symbol)
        by_key = {(f["model"], f["horizon"], f["window"]): f for f in s["figures"]}
        for model in (s["served"], f"{symbol.lower()}-1d-persistence"):
            assert by_key[(model, 1, 30)]["scored"] == 30
            assert by_key[(model, 1, 90)]["scored"] == 35
            assert by_key[(model, 7, 90)]["scored"] == REPLAY_DAYS - 7
            assert by_key[(model, 30, 90)]["scored"] == REPLAY_DAYS - 30
        persistence = by_key[(f"{symbol.lower()}-1d-persistence", 1, 30)]
        assert persistence["mae_ratio"] == pytest.approx(1.0)
        assert 0.0 <= by_key[(s["served"], 1, 30)]["coverage"] <= 1.0
        assert s["note"] == "" and s["kind"] == "live"
    assert code == (3 if any(s["degraded"] for s in series.values()) else 0)
    assert main(["monitor", "--kind", "hindcast", "--json"]) == 0
    hindcasts = json.loads(capsys.readouterr().out)["series"]
    assert all(not s["figures"] or all(f["scored"] == 0 for f in s["figures"]) for s in hindcasts)


def test_monitor_figures_match_a_hand_computation(replay_home: Path) -> None:
    """Its h = 1 figures over the last 30 equal those computed from the outcome rows."""
    from daily_pipeline.monitor import monitor_series, scored

    store = LocalFeatureStore(str(replay_home / "store"))
    outcomes, excluded = scored(store, "BTCUSDT", "1d")
    assert excluded == 0
    served = served_model(replay_home, "BTCUSDT")
    report = monitor_series(outcomes, "BTCUSDT", "1d", served)
    rows = outcomes.loc[outcomes["horizon"] == 1].sort_values("target_time")
    mine = rows.loc[rows["model"] == served].tail(30)
    base = rows.loc[rows["model"] == "btcusdt-1d-persistence"].set_index("origin_time")
    base = base.loc[mine["origin_time"]]
    figure = report.figure(served, 1, 30)
    assert figure is not None
    ratio = mine["error"].abs().mean() / base["error"].abs().mean()
    assert figure.mae_ratio == pytest.approx(ratio)
    assert figure.winkler_ratio == pytest.approx(
        mine["interval_score"].mean() / base["interval_score"].mean()
    )
    assert figure.coverage == pytest.approx(mine["inside"].mean())
    actual = mine["actual"].to_numpy()
    inside = (actual >= mine["low"].to_numpy()) & (actual <= mine["high"].to_numpy())
    assert (inside == mine["inside"].to_numpy()).all()


def test_a_second_replay_over_the_same_days_changes_nothing(
    replay_home: Path, data_dir: Path, tmp_path: Path
) -> None:
    """It runs the 36 daily runs again on the replayed store: every fingerprint is kept."""
    home = tmp_path / "home"
    shutil.copytree(replay_home, home)
    before = fingerprints(home)
    settings = Settings(home=home, symbols=SYMBOLS)
    store, registry = LocalFeatureStore(str(home / "store")), open_registry(settings)
    for day in range(REPLAY_DAYS):
        today = settings.with_overrides(now=FIRST_RUN + timedelta(days=day))
        summary = daily(today, store, open_source(today, f"csv:{data_dir}"), registry=registry)
        assert [(r.forecasts_logged, r.forecasts_scored) for r in summary.results] == [(0, 0)] * 2
    assert fingerprints(home) == before


def run_daily(home: Path, data_dir: Path, now: datetime, kill_after: int = 0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDLECAST_")}
    env |= {"CANDLECAST_HOME": str(home), "PYTHONPATH": str(HOOK)}
    if kill_after:
        env["CANDLECAST_TEST_KILL_AFTER"] = str(kill_after)
    args = ["daily", "--symbols", "BTCUSDT", "--source", f"csv:{data_dir}", "--json"]
    return subprocess.run(
        [str(CANDLECAST), *args, "--now", now.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def loop_home(replay_home: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BTCUSDT through 2025-12-10 with the replay's trained models, its forecasts logged by the
    daily runs of 2025-12-11 and 12-12."""
    home = tmp_path_factory.mktemp("loop-home")
    shutil.copytree(replay_home / "registry", home / "registry")
    first = datetime(2025, 12, 11, 0, 30, tzinfo=UTC)
    settings = Settings(home=home, now=first, symbols=("BTCUSDT",))
    store = LocalFeatureStore(str(home / "store"))
    source = open_source(settings, f"csv:{data_dir}")
    backfill.run(settings, store, source, ["BTCUSDT"], "1d", progress=False)
    for now in (first, first + timedelta(days=1)):
        today = settings.with_overrides(now=now)
        daily(today, store, open_source(today, f"csv:{data_dir}"), registry=open_registry(today))
    return home


LATER = datetime(2025, 12, 15, 0, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def uninterrupted(loop_home: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("uninterrupted") / "home"
    shutil.copytree(loop_home, home)
    done = run_daily(home, data_dir, LATER)
    assert done.returncode == 0, done.stderr
    symbol = json.loads(done.stdout)["symbols"][0]
    assert symbol["forecasts_logged"] > 0 and symbol["forecasts_scored"] > 0
    return fingerprints(home)


@pytest.mark.parametrize(
    "kill_after", [2, 3], ids=["after-features-before-predictions", "after-predictions"]
)
def test_a_daily_run_killed_around_the_prediction_write_heals_on_the_next(
    loop_home: Path,
    data_dir: Path,
    tmp_path: Path,
    uninterrupted: dict[str, str],
    kill_after: int,
) -> None:
    """A real SIGKILL after the features commit (no forecasts logged) or after the predictions
    commit (none scored): the next `candlecast daily` leaves the content of an uninterrupted
    run, and a third changes nothing."""
    home = tmp_path / "home"
    shutil.copytree(loop_home, home)
    killed = run_daily(home, data_dir, LATER, kill_after=kill_after)
    assert killed.returncode == -signal.SIGKILL
    assert fingerprints(home) != uninterrupted
    healed = run_daily(home, data_dir, LATER)
    assert healed.returncode == 0, healed.stderr
    assert fingerprints(home) == uninterrupted
    again = json.loads(run_daily(home, data_dir, LATER).stdout)["symbols"][0]
    assert (again["forecasts_logged"], again["forecasts_scored"]) == (0, 0)
