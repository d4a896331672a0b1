"""Every command with CANDLECAST_STORE=hopsworks, through open_store/open_registry (SDK stand-in).

`hopsworks.login` is answered by the stand-in project; everything else is the real CLI, the real
pipelines and the real adapters, with the Binance simulator as the exchange.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hopsworks_standin import Backend, login_standin

from candlecast.settings import Settings
from candlecast_cli.app import main

REPO = Path(__file__).resolve().parents[3]
NOW = "2026-01-06T12:00:00Z"


def hopsworks_environment(mp: pytest.MonkeyPatch, root: Path, binance_url: str) -> None:
    """The variables a user sets for Hopsworks, and the stand-in behind `hopsworks.login`."""
    import hopsworks

    for key, value in {
        "CANDLECAST_STORE": "hopsworks",
        "CANDLECAST_HOME": str(root / "home"),
        "CANDLECAST_NOW": NOW,
        "HOPSWORKS_PROJECT": "candlecast",
        "HOPSWORKS_API_KEY": "made-up-key-123",
        "BINANCE_API_URL": binance_url,
    }.items():
        mp.setenv(key, value)
    mp.setattr(hopsworks, "login", login_standin(root / "hopsworks"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, binance_sim: str) -> Path:
    """A stand-in project that `candlecast backfill` filled with BTCUSDT daily candles."""
    root = tmp_path_factory.mktemp("hopsworks-cli")
    with pytest.MonkeyPatch.context() as mp:
        hopsworks_environment(mp, root, binance_sim)
        assert main(["backfill", "--symbols", "BTCUSDT", "--interval", "1d"]) == 0
    return root


@pytest.fixture
def cli_env(world: Path, binance_sim: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    hopsworks_environment(monkeypatch, world, binance_sim)
    return world


def test_backfill_writes_both_groups_to_hopsworks(world: Path) -> None:
    """It created the candles and features groups in the project and committed rows offline."""
    groups = Backend(world / "hopsworks").state()["groups"]
    assert set(groups) == {"candles_1", "features_1"}
    assert all(group["commits"] for group in groups.values())
    assert not (world / "home" / "store").exists()  # nothing went to the local store


def test_daily_and_the_lambda_find_nothing_new(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It runs `daily` and the Lambda handler against Hopsworks: the store is up to date."""
    assert main(["daily", "--symbols", "BTCUSDT", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["symbols"][0]["status"] == "up-to-date"
    handler = _load_lambda_handler()
    result = handler.handler({"symbols": ["BTCUSDT"], "interval": "1d"}, None)
    assert [s["status"] for s in result["symbols"]] == ["up-to-date"]


def test_status_reports_the_hopsworks_store(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It shows the groups that live in the Hopsworks project."""
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    text = json.dumps(status)
    assert "hopsworks://" in text and "features" in text and "BTCUSDT" in text


@pytest.mark.slow
def test_train_evaluate_forecast_and_app_use_the_hopsworks_registry(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It trains and registers in Hopsworks, then evaluates, forecasts and serves from there."""
    assert importlib.util.find_spec("tensorflow"), "make setup-hopsworks installs the train extra"
    assert main(["train", "--symbols", "BTCUSDT", "--interval", "1d", "--quick", "--json"]) == 0
    (series,) = json.loads(capsys.readouterr().out)["series"]
    models = sorted(p.name for p in (cli_env / "hopsworks" / "Models").iterdir())
    assert any(name.endswith("_lstm") or name.endswith("_mlp") for name in models)
    assert any(name.endswith("_garch") for name in models)
    assert main(["evaluate", "--symbol", "BTCUSDT", "--interval", "1d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["model"], report["version"]) == (
        series["served"]["name"],
        series["served"]["version"],
    )
    assert main(["forecast", "--symbol", "BTCUSDT", "--days", "7", "--json"]) == 0
    forecast = json.loads(capsys.readouterr().out)
    assert forecast["symbol"] == "BTCUSDT" and forecast["model"]["role"] == "served"
    from inference_app.app import main as app_main

    demo = app_main(Settings.from_env())
    assert demo is not None


def _load_lambda_handler():
    spec = importlib.util.spec_from_file_location(
        "candlecast_lambda_handler_hw", REPO / "lambda" / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
