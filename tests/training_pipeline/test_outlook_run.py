"""Tests for the high/low and P(up) figures of a training run, `evaluate` and the forecast JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from synthetic_series import candles_of, trending_features, with_extremes

from candlecast.settings import Settings
from candlecast_cli.app import main
from feature_pipeline.groups import CANDLES, FEATURES
from training_pipeline.evaluation import OUTLOOK_PER_HORIZON, evaluation
from training_pipeline.run import run

FIGURES = ("high_mae", "high_mae_ratio", "low_mae", "low_mae_ratio", "brier", "brier_skill")


def test_a_run_reports_high_low_and_p_up_and_evaluate_shows_them(
    tmp_path: Path, feature_store, registry, tiny_config, monkeypatch, capsys
) -> None:
    """It registers per-horizon high/low and P(up) test figures with reliability tables, which
    `evaluate --json` (registered or on a period) and `train --json` report, and forecasts
    carry high/low and P(up) per step."""
    rows = with_extremes(trending_features())
    feature_store.upsert(FEATURES, rows.drop(columns=["high", "low"]))
    feature_store.ensure(CANDLES)
    feature_store.upsert(CANDLES, candles_of(rows))
    settings = Settings(home=tmp_path, symbols=("SYNTHUSDT",))
    (series,) = run(settings, feature_store, registry, config=tiny_config, progress=False).series

    for version in (*series.candidates, series.served):
        h1 = evaluation(version)["horizons"]["1"]
        assert all(h1[k] is not None for k in (*FIGURES, "rf_brier", "brier_skill_rf")), version
        assert sum(b["count"] for b in h1["reliability"]) == tiny_config.test_size
        assert version.metadata["p_up_calibration"]["calibrated_on"] == "val"
    served = series.to_dict()["served"]["candles_and_direction"]
    assert set(served) == {"1", "3", "7"} and served["7"]["reliability"]
    assert set(OUTLOOK_PER_HORIZON) <= set(served["7"])

    monkeypatch.setenv("CANDLECAST_HOME", str(tmp_path))
    monkeypatch.setenv("CANDLECAST_SYMBOLS", "SYNTHUSDT")
    capsys.readouterr()
    assert main(["evaluate", "--json"]) == 0
    h7 = json.loads(capsys.readouterr().out)["horizons"]["7"]
    assert all(h7[k] is not None for k in FIGURES) and h7["reliability"]
    assert main(["evaluate"]) == 0
    assert "P(up) reliability" in capsys.readouterr().out
    start = str(series.served.metadata["test_period"][0])[:10]
    assert main(["evaluate", "--from", start, "--json"]) == 0
    period = json.loads(capsys.readouterr().out)["horizons"]["1"]
    assert all(period[k] is not None for k in FIGURES) and period["rf_brier"] is not None

    from inference_app.forecaster import Forecaster

    as_of = pd.Timestamp(rows["open_time"].iloc[-1]).to_pydatetime()
    forecaster = Forecaster(settings, store=feature_store, registry=registry)
    for model in ("best", "synthusdt-1d-persistence"):
        step = forecaster.forecast("SYNTHUSDT", 3, model, as_of=as_of).to_dict()["forecast"][0]
        assert 0 < step["p_up"] < 1, model
        assert step["low_q10"] <= step["low_median"] < step["high_median"] <= step["high_q90"]


@pytest.fixture
def tiny_config(tiny_config):
    """The tiny config with no refits in the test period (the served network stays frozen)."""
    from dataclasses import replace

    return replace(tiny_config, refit_every=0)
