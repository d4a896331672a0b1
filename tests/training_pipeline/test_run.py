"""Tests for the training recipe and the `train` / `evaluate` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_series import random_walk_features, trending_features

from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_pipeline.groups import FEATURES
from feature_store.base import served_version
from training_pipeline.bundle import ModelBundle
from training_pipeline.run import run


def check_periods(metadata: dict, horizon: int, times: pd.Series) -> None:
    """No period overlaps the next, and a gap of `horizon` candles sits between them."""
    names = ("train", "val", "selection", "test")
    spans = [[pd.Timestamp(d) for d in metadata[f"{name}_period"]] for name in names]
    position = {t: i for i, t in enumerate(times)}
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert position[end] + horizon < position[start]


def test_a_learnable_signal_is_served_refitted_through_the_last_candle(
    tmp_path: Path, feature_store, registry, tiny_config
) -> None:
    """It serves the network that beats no change on the selection period, refitted to the end."""
    rows = trending_features()
    feature_store.upsert(FEATURES, rows)
    settings = Settings(home=tmp_path, symbols=("SYNTHUSDT",))
    (series,) = run(settings, feature_store, registry, config=tiny_config, progress=False).series

    names = [v.name for v in series.candidates]
    assert names == ["synthusdt-1d-persistence", "synthusdt-1d-garch", "synthusdt-1d-mlp"]
    served = series.served
    assert (served.name, served.metadata["role"], served.metadata["kind"]) == (
        "synthusdt-1d-mlp",
        "served",
        "mlp",
    )
    assert series.sentence.startswith("mlp beat 'no change' on ")
    assert served.metrics["sel_dm_p_h1"] < 0.10 and served.metrics["sel_dm_p_h7"] < 0.10
    assert served.metrics["mae_ratio_h1"] < 0.8  # refitted every 60 test origins
    assert served_version(registry, "SYNTHUSDT", "1d") == served

    times = pd.to_datetime(rows["open_time"], utc=True)
    check_periods(served.metadata, tiny_config.horizon, times)
    assert pd.Timestamp(served.metadata["trained_until"]) == times.iloc[-1]
    candidate = series.candidates[-1]
    assert pd.Timestamp(candidate.metadata["trained_until"]) < pd.Timestamp(
        candidate.metadata["selection_period"][0]
    )
    bundle = ModelBundle.load(served.path)
    assert bundle.notes["refit_epochs"] >= 1
    backtest = bundle.backtest()
    assert len(backtest) == tiny_config.test_size * tiny_config.horizon
    assert backtest["origin_time"].min() == pd.Timestamp(served.metadata["test_period"][0])
    assert bundle.predict(rows.tail(bundle.window))["median"].abs().max() > 0


def test_a_random_walk_is_served_a_baseline_by_the_newest_run(
    tmp_path: Path, feature_store, registry, tiny_config
) -> None:
    """It serves a baseline on a random walk, and the newest run's choice wins over older runs."""
    settings = Settings(home=tmp_path, symbols=("SYNTHUSDT",))
    feature_store.upsert(FEATURES, trending_features())
    first = run(settings, feature_store, registry, config=tiny_config, progress=False).series[0]
    assert first.served.metadata["kind"] == "mlp"

    feature_store.upsert(FEATURES, random_walk_features())
    (second,) = run(settings, feature_store, registry, config=tiny_config, progress=False).series
    assert second.served.metadata["kind"] in ("persistence", "garch")
    assert second.sentence.startswith("no model beat 'no change' on ")
    assert "mlp: " in second.sentence
    assert first.served.metrics["sel_mae_ratio"] < second.served.metrics["sel_mae_ratio"]
    assert served_version(registry, "SYNTHUSDT", "1d") == second.served
    assert second.served.metrics["mae_ratio_h1"] == 1.0


@pytest.fixture
def btc_home(tmp_path: Path, btc_features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CANDLECAST_HOME whose local store holds the real BTCUSDT 1d features."""
    from feature_store.local import LocalFeatureStore

    store = LocalFeatureStore(str(tmp_path / "store"))
    store.ensure(FEATURES)
    store.upsert(FEATURES, btc_features)
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-06T12:00:00Z")
    return tmp_path


@pytest.mark.slow
def test_quick_train_then_evaluate_from_the_cli(
    btc_home: Path, btc_features: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """It trains, registers and evaluates from the command line, as a table and as JSON."""
    args = ["train", "--quick", "--models", "mlp", "--epochs", "2", "--json"]
    assert main(args) == 0
    (trained,) = json.loads(capsys.readouterr().out)["series"]
    assert [m["name"] for m in trained["models"]] == [
        "btcusdt-1d-persistence",
        "btcusdt-1d-garch",
        "btcusdt-1d-mlp",
    ]
    assert set(trained["periods"]) == {"train", "val", "selection", "test"}
    last = pd.Timestamp(btc_features["open_time"].iloc[-1])
    assert pd.Timestamp(trained["served"]["trained_until"]) == last

    assert main(["evaluate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["origins"] == 365 and set(report["horizons"]) == {"1", "3", "7", "14", "30"}
    assert report["role"] == "served" and report["decision"] == trained["served"]["decision"]
    h1 = report["horizons"]["1"]
    assert h1["persistence_mae"] > 0 and h1["winkler"] > 0 and h1["pinball"] > 0
    assert h1["coverage80_low"] < h1["coverage80"] < h1["coverage80_high"]

    assert main(["evaluate", "--model", "btcusdt-1d-persistence:1"]) == 0
    table = capsys.readouterr().out
    assert "btcusdt-1d-persistence:1" in table and "DM p" in table and "W ratio" in table


@pytest.mark.slow
def test_evaluate_scores_a_period_that_arrived_after_training(
    tmp_path: Path, btc_features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """It scores a model trained on a shortened store on the candles backfilled later, with the
    figures a direct computation from as-of forecasts gives."""
    from feature_store.local import LocalFeatureStore
    from inference_app.forecaster import Forecaster

    store = LocalFeatureStore(str(tmp_path / "store"))
    store.ensure(FEATURES)
    times = pd.to_datetime(btc_features["open_time"], utc=True)
    store.upsert(FEATURES, btc_features[times <= "2025-06-30"])
    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("CANDLECAST_NOW", "2025-07-01T12:00:00Z")
    assert main(["train", "--quick", "--models", "mlp", "--epochs", "1", "--json"]) == 0
    served = json.loads(capsys.readouterr().out)["series"][0]["served"]
    assert served["trained_until"].startswith("2025-06-30")

    store.upsert(FEATURES, btc_features[times > "2025-06-30"])  # the candles that came later
    monkeypatch.setenv("CANDLECAST_NOW", "2026-01-06T12:00:00Z")
    args = ["evaluate", "--from", "2025-07-01", "--to", "2025-07-12", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["origins"] == 12 and not report["in_sample"]
    assert report["period"][0].startswith("2025-07-01")

    forecaster = Forecaster(Settings.from_env())
    close = btc_features.set_index(times)["close"]
    for h in (1, 7):
        errors, covered, scores = [], [], []
        for origin in pd.date_range("2025-07-01", "2025-07-12", tz="UTC"):
            point = forecaster.forecast("BTCUSDT", 30, as_of=origin.to_pydatetime()).points[h - 1]
            actual = close[origin + pd.Timedelta(days=h)]
            errors.append(abs(point.median - actual))
            covered.append(point.low <= actual <= point.high)
            miss = max(point.low - actual, 0) + max(actual - point.high, 0)
            scores.append(point.high - point.low + 10 * miss)
        row = report["horizons"][str(h)]
        assert row["mae"] == pytest.approx(np.mean(errors), rel=1e-9)
        assert row["coverage80"] == pytest.approx(np.mean(covered))
        assert row["winkler"] == pytest.approx(np.mean(scores), rel=1e-9)

    assert main(["evaluate", "--from", "2025-12-20", "--json"]) == 1
    assert "outcome closed yet" in capsys.readouterr().err


def test_bad_requests_print_one_line_and_fail(
    btc_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It rejects unknown model kinds, unknown models and bad periods without a traceback."""
    assert main(["train", "--models", "gru"]) == 1
    assert "gru" in capsys.readouterr().err
    assert main(["evaluate", "--model", "btcusdt-1d-nothing"]) == 1
    assert "candlecast train" in capsys.readouterr().err
    assert main(["evaluate", "--model", "x:y"]) == 1
    assert "NAME:VERSION" in capsys.readouterr().err
    assert main(["evaluate"]) == 1
    assert "train one with `candlecast train --symbols BTCUSDT" in capsys.readouterr().err
    assert main(["evaluate", "--to", "2025-01-01"]) == 1
    assert "--to needs --from" in capsys.readouterr().err
