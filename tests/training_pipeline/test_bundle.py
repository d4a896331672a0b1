"""Tests for the model bundle: save/load, registry round trip and training/serving consistency."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candlecast.errors import ModelNotFound, ValidationError
from training_pipeline.bundle import BACKTEST_FILE, BUNDLE_FILE, MODEL_FILE, ONNX_FILE, ModelBundle
from training_pipeline.candidates import fitting_end, garch_bundle, persistence_bundle
from training_pipeline.register import register
from training_pipeline.training_set import TrainingSet


@pytest.mark.parametrize("kind", ["persistence", "garch"])
def test_baseline_bundles_round_trip(
    data: TrainingSet, tiny_config, tmp_path: Path, kind: str
) -> None:
    """It saves a baseline without a Keras file and forecasts no change inside its band."""
    build = persistence_bundle if kind == "persistence" else garch_bundle
    bundle = build(data, tiny_config, fitting_end(data))
    loaded = ModelBundle.load(bundle.save(tmp_path / kind))
    assert not (tmp_path / kind / MODEL_FILE).exists()
    rows = data.view.frame.tail(loaded.window)
    forecast = loaded.predict(rows)
    # no candle highs/lows in these rows: the close quantiles and P(up)
    assert list(forecast.columns) == ["horizon", "low", "median", "high", "p_up"]
    assert forecast["horizon"].tolist() == list(range(1, data.horizon + 1))
    assert (forecast["median"] == 0).all()
    assert (forecast["low"] < 0).all() and (forecast["high"] > 0).all()
    pd.testing.assert_frame_equal(forecast, bundle.predict(data.view.frame), check_exact=True)
    assert loaded.name == f"synthusdt-1d-{kind}"
    with pytest.raises(ValidationError, match=f"needs the last {loaded.window}"):
        loaded.predict(rows.tail(loaded.window - 1))


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_registered_and_reloaded_model_forecasts_the_same(
    data: TrainingSet, registry, make_bundle, kind: str
) -> None:
    """It forecasts the same (to float32 rounding) after registering the bundle and loading it
    back, where the loaded bundle runs the ONNX file, and each load gives identical numbers."""
    bundle = make_bundle(data, kind)
    frame = bundle.with_backtest(pd.DataFrame({"horizon": [1], "actual": [1.0]}))
    version = register(registry, frame, role="candidate", extra={"run": "r1"})
    assert version.name == f"synthusdt-1d-{kind}"
    assert version.metadata["kind"] == kind and version.metadata["symbol"] == "SYNTHUSDT"
    assert version.metadata["role"] == "candidate" and version.metadata["run"] == "r1"
    loaded = ModelBundle.load(registry.get(version.name).path)
    assert (Path(version.path) / ONNX_FILE).exists() and loaded.notes["onnx"]["opset"] >= 13
    rows = data.view.frame.tail(bundle.window)
    before, after = bundle.predict(rows), loaded.predict(rows)
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-5, atol=1e-7)
    again = ModelBundle.load(registry.get(version.name).path).predict(rows)
    pd.testing.assert_frame_equal(after, again, check_exact=True)
    assert (after["low"] <= after["median"]).all() and (after["median"] <= after["high"]).all()
    assert after["median"].abs().sum() > 0
    assert (Path(version.path) / BACKTEST_FILE).exists()
    assert loaded.scaler == data.scaler and loaded.window == 5


def test_serving_inputs_equal_training_inputs(data: TrainingSet, make_bundle) -> None:
    """It builds the app's input from the latest rows exactly as training built that window."""
    bundle = make_bundle(data)
    origin = int(data.splits.test[-1])
    rows = data.view.frame.iloc[origin - 20 : origin + 1]
    x_train, _ = data.arrays(np.array([origin]), bundle.window)
    np.testing.assert_array_equal(bundle.inputs(rows), x_train)


def test_forecast_uses_only_rows_up_to_the_last(data: TrainingSet, make_bundle) -> None:
    """It forecasts the same from the last window whatever older rows are passed along."""
    bundle = make_bundle(data)
    frame = data.view.frame
    pd.testing.assert_frame_equal(bundle.predict(frame), bundle.predict(frame.tail(5)))


def test_bad_inputs_are_refused(data: TrainingSet, tmp_path: Path, make_bundle) -> None:
    """It refuses too few rows, missing columns, a folder without a bundle and old bundles."""
    bundle = make_bundle(data)
    with pytest.raises(ValidationError, match="needs the last 5"):
        bundle.predict(data.view.frame.tail(4))
    with pytest.raises(ValidationError, match="ret_1"):
        bundle.predict(data.view.frame.drop(columns="ret_1"))
    with pytest.raises(ModelNotFound, match=r"bundle\.json"):
        ModelBundle.load(tmp_path)
    folder = bundle.save(tmp_path / "old")
    record = json.loads((folder / BUNDLE_FILE).read_text())
    del record["format"]
    (folder / BUNDLE_FILE).write_text(json.dumps(record))
    with pytest.raises(ModelNotFound, match="older format.*candlecast train"):
        ModelBundle.load(folder)


def test_quantiles_never_cross(data: TrainingSet, make_bundle) -> None:
    """It keeps low <= median <= high even when a stored band has a negative width."""
    bundle = make_bundle(data)
    bundle.band = {"scale_by": "none", "width": [-0.05] * data.horizon}
    forecast = bundle.predict(data.view.frame.tail(5))
    assert (forecast["low"] <= forecast["median"]).all()
    assert (forecast["median"] <= forecast["high"]).all()
    assert (forecast["low"] == forecast["median"]).all()


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_the_onnx_model_forecasts_what_the_keras_model_does_on_real_windows(
    btc_features: pd.DataFrame, tiny_config, tmp_path: Path, make_bundle, kind: str
) -> None:
    """It agrees with Keras to a relative 1e-5 on 500 real BTCUSDT windows, MLP and LSTM."""
    from training_pipeline.feature_view import feature_view_from_frame
    from training_pipeline.runtime import keras_forecaster, onnx_forecaster
    from training_pipeline.training_set import prepare

    data = prepare(
        feature_view_from_frame(btc_features, symbol="BTCUSDT", interval="1d"), tiny_config
    )
    bundle = make_bundle(data, kind)
    folder = bundle.save(tmp_path / kind)
    inputs = bundle.inputs(
        data.view.frame, np.arange(len(data.view.frame) - 500, len(data.view.frame))
    )
    keras_out = keras_forecaster(bundle._model)(inputs)
    onnx_out = onnx_forecaster(folder / ONNX_FILE)(inputs)
    assert onnx_out.shape == keras_out.shape == (500, data.horizon, 3)
    np.testing.assert_allclose(onnx_out, keras_out, rtol=1e-5, atol=1e-6)


def test_bundles_saved_before_high_low_and_p_up_load_and_forecast_without_them(
    data: TrainingSet, tiny_config, tmp_path: Path, make_bundle
) -> None:
    """It loads a bundle.json without `candle` / `direction` and forecasts the close as before,
    leaving the high/low and P(up) fields out (null in the forecast JSON)."""
    from inference_app.serving import CANDLE_FIELDS, candle_fields

    rows = data.view.frame.tail(400)
    for bundle in (persistence_bundle(data, tiny_config, fitting_end(data)), make_bundle(data)):
        folder = bundle.save(tmp_path / bundle.kind)
        record = json.loads((folder / BUNDLE_FILE).read_text())
        del record["candle"], record["direction"]
        (folder / BUNDLE_FILE).write_text(json.dumps(record))
        loaded = ModelBundle.load(folder)
        forecast = loaded.predict(rows)
        assert list(forecast.columns) == ["horizon", "low", "median", "high"]
        expected = bundle.forecast_rows(rows)[0]
        np.testing.assert_allclose(forecast[["low", "median", "high"]], expected, atol=1e-6)
        assert loaded.candle_rows(rows) is None and loaded.p_up_rows(rows) is None
        fields = candle_fields(forecast.iloc[0].to_dict(), 100.0)
        assert list(fields) == list(CANDLE_FIELDS) and set(fields.values()) == {None}


def test_a_high_low_head_leaves_the_close_forecast_unchanged(
    tiny_config, tmp_path: Path, make_bundle
) -> None:
    """It adds high/low quantiles on the frozen network: the close quantiles stay identical,
    and the ONNX file serves all of them."""
    from dataclasses import replace

    from synthetic_series import synthetic_features, with_extremes

    from inference_app.serving import candle_fields
    from training_pipeline.config import Architecture
    from training_pipeline.feature_view import feature_view_from_frame
    from training_pipeline.fit import fit_candle_head
    from training_pipeline.training_set import prepare

    frame = with_extremes(synthetic_features())
    data = prepare(feature_view_from_frame(frame, symbol="SYNTHUSDT", interval="1d"), tiny_config)
    bundle = make_bundle(data)
    origins = data.splits.test
    before = bundle.forecast_rows(data.view.frame, origins)
    model, record = fit_candle_head(
        bundle._model, Architecture(window=5, units=8), data, tiny_config, epochs=2
    )
    headed = replace(bundle.with_model(model), candle=record)
    np.testing.assert_array_equal(headed.forecast_rows(data.view.frame, origins), before)
    candle = headed.candle_rows(data.view.frame, origins)
    assert candle.shape == (len(origins), data.horizon, 2, 3)
    assert (np.diff(candle, axis=-1) >= 0).all()
    loaded = ModelBundle.load(headed.save(tmp_path / "mlp"))
    np.testing.assert_allclose(loaded.candle_rows(data.view.frame, origins), candle, atol=1e-6)
    row = loaded.predict(data.view.frame.tail(50)).iloc[0].to_dict()
    fields = candle_fields(row, 100.0)
    assert fields["high_q10"] <= fields["high_median"] <= fields["high_q90"]
    assert fields["p_up"] is None  # not calibrated here
