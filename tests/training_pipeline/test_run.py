"""Tests for the training recipe and the `train` / `evaluate` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from candlecast.cli import main
from candlecast.settings import Settings
from feature_pipeline.groups import FEATURES
from feature_store.base import SELECTION_METRIC
from training_pipeline.bundle import ModelBundle
from training_pipeline.run import run


def test_a_tiny_run_learns_what_persistence_cannot(
    tmp_path: Path, feature_store, registry, synthetic: pd.DataFrame, tiny_config
) -> None:
    """It learns a return that a feature predicts, beats persistence, and registers both."""
    feature_store.upsert(FEATURES, synthetic)
    settings = Settings(home=tmp_path, symbols=("SYNTHUSDT",))
    report = run(settings, feature_store, registry, config=tiny_config, progress=False)

    names = [v.name for v in report.versions]
    assert names == ["synthusdt-1d-persistence", "synthusdt-1d-mlp"]
    persistence, mlp = report.versions
    assert persistence.metrics[SELECTION_METRIC] == 1.0
    assert mlp.metrics[SELECTION_METRIC] < 0.95
    assert mlp.metrics["mae_ratio_h1"] < 0.75
    assert mlp.metrics["dm_p_h1"] < 0.01
    assert report.best.name == "synthusdt-1d-mlp"
    assert persistence.created >= mlp.created  # registered last: it wins the registry's ties
    assert registry.best(where={"symbol": "SYNTHUSDT"}).name == "synthusdt-1d-mlp"
    assert mlp.metadata["table_version"] == feature_store.table_version(FEATURES)

    bundle = ModelBundle.load(mlp.path)
    assert bundle.hyperparameters["window"] == 5
    backtest = bundle.backtest()
    assert len(backtest) == tiny_config.test_size * tiny_config.horizon
    assert backtest["origin_time"].min() > pd.Timestamp(bundle.data["trained_until"])
    assert bundle.predict(synthetic.tail(5))["median"].abs().max() > 0


def test_persistence_wins_a_tie() -> None:
    """It names persistence the best model when a network only matches it on validation."""
    from datetime import UTC, datetime

    from feature_store.base import ModelVersion
    from training_pipeline.run import TrainReport

    def version(kind: str) -> ModelVersion:
        return ModelVersion(
            name=f"x-1d-{kind}",
            version=1,
            created=datetime.now(UTC),
            metrics={SELECTION_METRIC: 1.0},
            metadata={"kind": kind},
        )

    report = TrainReport("X", "1d", "CPU", {}, [version("lstm"), version("persistence")])
    assert report.best.name == "x-1d-persistence"


@pytest.fixture
def btc_home(tmp_path: Path, btc_features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CANDLECAST_HOME whose local store holds the real BTCUSDT 1d features."""
    from feature_store.local import LocalFeatureStore

    store = LocalFeatureStore(str(tmp_path / "store"))
    store.ensure(FEATURES)
    store.upsert(FEATURES, btc_features)
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_quick_train_then_evaluate_from_the_cli(
    btc_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It trains, registers and evaluates from the command line, as a table and as JSON."""
    args = ["train", "--quick", "--models", "mlp", "--epochs", "2", "--json"]
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in trained["models"]] == ["btcusdt-1d-persistence", "btcusdt-1d-mlp"]

    assert main(["evaluate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["origins"] == 365 and set(report["horizons"]) == {"1", "3", "7", "14", "30"}
    assert report["horizons"]["1"]["persistence_mae"] > 0

    assert main(["evaluate", "--model", "btcusdt-1d-persistence:1"]) == 0
    table = capsys.readouterr().out
    assert "btcusdt-1d-persistence:1" in table and "DM p" in table and "cover80" in table


def test_bad_requests_print_one_line_and_fail(
    btc_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It rejects unknown model kinds and unknown models without a traceback."""
    assert main(["train", "--models", "gru"]) == 1
    assert "gru" in capsys.readouterr().err
    assert main(["evaluate", "--model", "btcusdt-1d-nothing"]) == 1
    assert "candlecast train" in capsys.readouterr().err
    assert main(["evaluate", "--model", "x:y"]) == 1
    assert "NAME:VERSION" in capsys.readouterr().err
