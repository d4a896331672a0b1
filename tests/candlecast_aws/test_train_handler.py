"""The weekly retrain's Lambda handler, in-process: events, the registry it refuses, the live
monitor's verdict, the deadline, and a refit on an S3 store filled from the simulator."""

from __future__ import annotations

import importlib.util
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import boto3
import numpy as np
import pandas as pd
import pytest

from candlecast.errors import SettingsError
from candlecast.settings import Settings
from candlecast_aws import retrain
from candlecast_aws.retrain import MIN_REFIT_S, RetrainFailed, check_registry
from daily_pipeline.groups import OUTCOMES, PREDICTIONS
from daily_pipeline.monitor import live_health
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from feature_store import open_registry, open_store
from feature_store.base import ModelVersion, served_version
from feature_store.local import LocalFeatureStore

REPO = Path(__file__).resolve().parents[2]

NOW = "2026-01-06T12:00:00Z"  # the simulator fixture's clock
ALLOW = {"allow_ephemeral_registry": True}


class LambdaContext:
    """It reports the time left as Lambda's context does: a countdown from `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


@pytest.fixture(scope="module")
def train_handler() -> ModuleType:
    """It loads lambda/train_handler.py by path, as Lambda does from the image's task root."""
    spec = importlib.util.spec_from_file_location(
        "candlecast_train_handler", REPO / "lambda" / "train_handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["BTCUSDT"], "the event is a list"),
        ({"max_age": 30}, '"max_age" must be a string'),
        ({"max_age": "30 days"}, "\"max_age\" '30 days' is not an age"),
        ({"dry_run": "yes"}, '"dry_run" must be true or false'),
        ({"allow_ephemeral_registry": 1}, '"allow_ephemeral_registry" must be true or false'),
        ({"maxage": "30d"}, "unknown key(s) maxage"),
        ({"symbols": "BTCUSDT"}, '"symbols" must be a non-empty list'),
        ({"interval": "2d"}, "interval '2d' is not supported"),
        ({"detail-type": "Object Created", "detail": {}}, "'Object Created' is not handled"),
    ],
)
def test_malformed_events_are_refused_before_anything_runs(
    train_handler: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    event: object,
    message: str,
) -> None:
    """It returns ok false without raising (a retry cannot help), logs why, and writes nothing."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    result = train_handler.handler(event, LambdaContext(900))
    assert (result["ok"], result["permanent"], result["error_type"]) == (
        False,
        True,
        "SettingsError",
    )
    assert message in result["error"] and result["series"] == []
    (line,) = log_lines(capsys.readouterr().out)
    assert (line["event"], line["error"]) == ("retrain-rejected", result["error"])
    assert list(tmp_path.iterdir()) == []


def test_a_scheduled_event_is_read_with_its_detail() -> None:
    """It reads a plain scheduled event as the defaults, and a detail as the request."""
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    plain = retrain.parse_event(scheduled)
    assert (plain.overrides, plain.max_age, plain.dry_run) == ({}, None, False)
    detailed = retrain.parse_event({**scheduled, "detail": {"max_age": "2w", "dry_run": True}})
    assert (detailed.max_age, detailed.dry_run) == (timedelta(weeks=2), True)


def test_an_embedded_registry_that_would_be_lost_is_refused_unless_allowed(
    train_handler: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It refuses a local registry outside an EFS mount (on Lambda: the instance's /tmp) with
    one line that names the ways out, and writes nothing."""
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    result = train_handler.handler({"symbols": ["BTCUSDT"]}, None)
    assert result["ok"] is False and result["permanent"] is True
    assert "which is lost with the Lambda instance" in result["error"]
    assert "CANDLECAST_STORE=hopsworks" in result["error"] and "\n" not in result["error"]
    assert log_lines(capsys.readouterr().out)[0]["event"] == "retrain-rejected"
    assert list(tmp_path.iterdir()) == []
    check_registry(Settings(home=Path("/mnt/efs/candlecast")), allow_ephemeral=False)
    check_registry(Settings(registry_uri="s3://models/registry"), allow_ephemeral=False)
    check_registry(Settings(home=Path("/tmp/candlecast")), allow_ephemeral=True)
    with pytest.raises(SettingsError, match="/tmp/candlecast/registry"):
        check_registry(Settings(home=Path("/tmp/candlecast")), allow_ephemeral=False)


def outcome_rows(model: str, version: int, errors: np.ndarray, start: str) -> pd.DataFrame:
    """Scored live h = 1 forecasts of `model` from consecutive daily origins, each `error` off
    an actual of 100 with a band of +-5."""
    origins = pd.date_range(start, periods=len(errors), freq="D", tz="UTC")
    median = 100.0 + errors
    return pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "interval": "1d",
            "model": model,
            "origin_time": origins,
            "horizon": 1,
            "target_time": origins + pd.Timedelta(days=1),
            "version": version,
            "served": model.endswith("-mlp"),
            "kind": "live",
            "made_at": origins + pd.Timedelta(days=1, minutes=30),
            "trained_until": pd.Timestamp("2025-11-01", tz="UTC"),
            "last_close": 100.0,
            "median": median,
            "low": median - 5.0,
            "high": median + 5.0,
            "band_scale": 1.0,
            "actual": 100.0,
            "error": errors,
            "inside": np.abs(errors) <= 5.0,
            "interval_score": 10.0 + 20.0 * np.maximum(np.abs(errors) - 5.0, 0.0),
        }
    )


def test_the_live_verdict_judges_the_served_versions_own_forecasts(tmp_path: Path) -> None:
    """It flags a served version whose last 30 h = 1 errors are twice no change's, and leaves
    out what an older version of the same model forecast."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    errors = np.resize([2.0, -2.0], 30)
    baseline = outcome_rows("btcusdt-1d-persistence", 1, errors, "2025-12-01")
    served = outcome_rows("btcusdt-1d-mlp", 4, 2 * errors, "2025-12-01")
    store.upsert(OUTCOMES, pd.concat([baseline, served]))
    metadata = {"symbol": "BTCUSDT", "interval": "1d", "kind": "mlp"}
    created = datetime(2026, 1, 1, tzinfo=UTC)
    check = live_health(store)
    old = check("BTCUSDT", "1d", ModelVersion("btcusdt-1d-mlp", 4, created, {}, metadata))
    assert old.degraded and "MAE ratio 2.000 > 1.05" in old.degraded[0]
    newer = check("BTCUSDT", "1d", ModelVersion("btcusdt-1d-mlp", 5, created, {}, metadata))
    assert newer.degraded == ()
    assert newer.note == "0 of the 30 scored h = 1 live forecasts the rule needs"


def test_a_refit_is_not_started_without_the_time_it_needs(
    train_handler: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reports a series whose refit would start too close to the timeout as failed (and
    raises, so the invocation is retried) without starting it; a dry run only plans."""
    store = LocalFeatureStore(str(tmp_path / "store"))
    days = pd.date_range("2023-01-01", periods=4, freq="D", tz="UTC")
    rows = pd.DataFrame({"symbol": "SYNTHUSDT", "interval": "1d", "open_time": days, "close": 1.0})
    store.upsert(FEATURES, rows.assign(**dict.fromkeys(FEATURE_COLUMNS, 0.0)))
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("CANDLECAST_NOW", "2023-01-05T12:00:00Z")
    event = {"symbols": ["SYNTHUSDT"], **ALLOW}
    with pytest.raises(RetrainFailed, match="SYNTHUSDT \\(not started: .* a refit needs about"):
        train_handler.handler(event, LambdaContext(MIN_REFIT_S - 60))
    dry = train_handler.handler({**event, "dry_run": True}, LambdaContext(MIN_REFIT_S - 60))
    (series,) = dry["series"]
    assert (dry["ok"], series["action"], series["dry_run"], series["new"]) == (
        True,
        "refit",
        True,
        None,
    )
    assert not (tmp_path / "registry").exists()


def test_the_handler_refits_an_old_model_on_s3_filled_from_the_simulator(
    train_handler: ModuleType,
    lambda_handler: ModuleType,
    binance_sim: str,
    aws: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The daily function backfills BTCUSDT to 2025-12-01 on S3 and a quick model is trained
    into the registry on S3; 35 days later (the daily function caught up, logging the served
    model's forecasts) the retrain refits it with its recorded config through 2026-01-05 and
    serves that; run again, it finds it fresh and writes nothing."""
    from training_pipeline.config import QUICK
    from training_pipeline.run import run

    boto3.client("s3").create_bucket(Bucket="candlecast-store")
    for key, value in {
        "CANDLECAST_HOME": str(tmp_path),
        "CANDLECAST_STORE_URI": "s3://candlecast-store/store",
        "CANDLECAST_REGISTRY_URI": "s3://candlecast-store/registry",
        "BINANCE_API_URL": binance_sim,
        "CANDLECAST_NOW": "2025-12-02T00:05:00Z",
    }.items():
        monkeypatch.setenv(key, value)
    assert lambda_handler.handler({"symbols": ["BTCUSDT"]}, None)["ok"]
    settings = Settings.from_env()
    config = QUICK.with_overrides(models=("mlp",), epochs=1)
    (first,) = run(
        settings, open_store(settings), open_registry(settings), config=config, progress=False
    ).series
    assert first.served.metadata["trained_until"].startswith("2025-12-01")
    monkeypatch.setenv("CANDLECAST_NOW", NOW)
    (caught_up,) = lambda_handler.handler({"symbols": ["BTCUSDT"]}, None)["symbols"]
    assert caught_up["status"] == "ok"
    logged = open_store(settings).read(PREDICTIONS, symbol="BTCUSDT", interval="1d")
    assert first.served.name in set(logged["model"])
    capsys.readouterr()

    event = {"symbols": ["BTCUSDT"], "interval": "1d", "max_age": "30d"}
    summary = train_handler.handler(event, LambdaContext(900))
    (series,) = summary["series"]
    assert (summary["ok"], series["action"], series["error"]) == (True, "refit", None)
    assert "fitted through 2025-12-01, 35.5 days old (limit 30 days)" in series["reason"]
    assert series["old"]["version"] == first.served.version
    registry = open_registry(Settings.from_env())
    served = served_version(registry, "BTCUSDT", "1d")
    assert (served.name, served.version) == (series["new"]["name"], series["new"]["version"])
    assert served.metadata["trained_until"].startswith("2026-01-05")
    assert served.metadata["config"] == config.to_dict() == series["config"]
    lines = log_lines(capsys.readouterr().out)
    assert [line["event"] for line in lines] == ["retrain-series", "retrain-run"]
    assert lines[-1]["ok"] is True and 0 < lines[-1]["budget_s"] <= 900

    before = files(tmp_path)
    again = train_handler.handler(event, LambdaContext(900))
    assert again["series"][0]["action"] == "none"
    assert again["series"][0]["reason"].endswith(": nothing to do")
    assert files(tmp_path) == before
    keys = boto3.client("s3").list_objects_v2(Bucket="candlecast-store")["Contents"]
    assert any(k["Key"].startswith("store/features_v1/") for k in keys)
    assert any(k["Key"] == f"registry/{served.name}/versions/{served.version}.json" for k in keys)
    assert not (tmp_path / "store").exists() and not (tmp_path / "registry").exists()
