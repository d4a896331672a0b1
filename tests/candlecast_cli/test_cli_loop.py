"""`candlecast hindcast`, `monitor` and `status` on the replayed live loop, as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from replay import LAST_RUN

from candlecast_cli.app import main
from daily_pipeline.groups import HINDCAST, PREDICTIONS
from feature_store.local import LocalFeatureStore


@pytest.fixture
def home(replay_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the replay's home, the clock at its last daily run."""
    copy = tmp_path / "home"
    shutil.copytree(replay_home, copy)
    monkeypatch.setenv("CANDLECAST_HOME", str(copy))
    monkeypatch.setenv("CANDLECAST_NOW", LAST_RUN.isoformat())
    monkeypatch.setenv("CANDLECAST_SYMBOLS", "BTCUSDT,ETHUSDT")
    return copy


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_hindcast_fills_past_origins_once_and_monitor_keeps_the_kinds_apart(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It logs every model's forecasts from 30 past origins as `hindcast` and scores them; a
    second run logs nothing. `monitor` leaves them out of the live figures, and out of the
    hindcast figures where the origin lies inside the model's fitting data (the GARCH band was
    fitted through 2025-12-01) unless --in-sample; no change's band is fitted on nothing."""
    store = LocalFeatureStore(str(home / "store"))
    live_before = store.fingerprint(PREDICTIONS)
    code, out, _ = run(
        capsys, "hindcast", "--symbols", "BTCUSDT", "--from", "2025-10-01", "--to", "2025-10-30"
    )
    assert code == 0, out
    assert "BTCUSDT" in out and "scored" in out
    log = store.read(PREDICTIONS, symbol="BTCUSDT")
    hindcasts = log.loc[log["kind"] == HINDCAST]
    assert hindcasts.groupby("model")["origin_time"].nunique().eq(30).all()
    assert len(hindcasts) == 30 * 30 * hindcasts["model"].nunique()
    assert store.fingerprint(PREDICTIONS) != live_before
    code, out, _ = run(
        capsys, "hindcast", "--symbols", "BTCUSDT", "--from", "2025-10-01", "--to", "2025-10-30"
    )
    assert code == 0 and "nothing new" in out

    def h1(*flags: str) -> dict[str, int]:
        code, out, _ = run(capsys, "monitor", "--symbols", "BTCUSDT", "--json", *flags)
        assert code in (0, 3)
        (series,) = json.loads(out)["series"]
        return {
            f["model"]: f["scored"]
            for f in series["figures"]
            if f["horizon"] == 1 and f["window"] == 90
        }

    assert h1() == h1("--kind", "live")  # the hindcasts do not enter the live figures
    assert h1()["btcusdt-1d-persistence"] == 35
    assert h1("--kind", "hindcast") == {"btcusdt-1d-persistence": 30}
    assert h1("--kind", "hindcast", "--in-sample")["btcusdt-1d-garch"] == 30
    assert h1("--kind", "all")["btcusdt-1d-persistence"] == 65


def test_status_shows_the_served_models_age_and_live_figures(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    served = {row["symbol"]: row for row in json.loads(out)["served"]}
    assert set(served) == {"BTCUSDT", "ETHUSDT"}
    for row in served.values():
        assert row["trained_until"].startswith("2025-12-01")
        assert row["age_days"] == pytest.approx(35.0, abs=0.1)  # its close to 2026-01-06 00:30
        assert row["live"]["scored"] == 30
        assert row["live"]["mae_ratio"] is not None and row["live"]["coverage"] is not None
    code, out, _ = run(capsys, "status")
    assert "served models (live" in out and "35.0 days old" in out and "30 scored" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["hindcast", "--from", "2025-11-01", "--to", "2025-10-01"], "is after --to"),
        (["hindcast", "--from", "2027-01-01"], "in the future"),
        (["hindcast", "--from", "yesterday"], "--from"),
        (["hindcast", "--symbols", "DOGEUSDT", "--from", "2025-11-01"], "no 1d features for DOGE"),
        (["monitor", "--kind", "weekly"], "--kind must be live, hindcast or all"),
        (["monitor", "--symbols", "DOGEUSDT"], "run `candlecast backfill --symbols DOGEUSDT"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    store = LocalFeatureStore(str(home / "store"))
    before = store.fingerprint(PREDICTIONS)
    code, out, err = run(capsys, *args)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err
    assert store.fingerprint(PREDICTIONS) == before
