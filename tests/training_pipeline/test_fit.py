"""Tests for the validation calibration: shrinkage towards persistence and conformal bands."""

from __future__ import annotations

import numpy as np

from training_pipeline.training_set import TrainingSet


def test_noise_is_shrunk_away_and_bands_cover_80_percent_on_validation(
    data: TrainingSet, make_bundle
) -> None:
    """It pulls a random network (nearly) back to persistence and scales its band to 80%."""
    from training_pipeline.fit import calibrate

    raw = make_bundle(data, seed=5)
    bundle = calibrate(raw, data)
    factor = bundle.shrink[0]
    assert factor <= 0.2 and bundle.shrink == (factor,) * data.horizon
    origins = data.splits.val
    forecast = bundle.forecast(bundle.inputs(data.view.frame, origins))
    actual = data.labels[origins]
    inside = (forecast[..., 0] <= actual) & (actual <= forecast[..., 2])
    coverage = inside.mean(axis=0)
    assert np.all(np.abs(coverage - 0.8) <= 0.02)
    raw_median = raw.forecast(raw.inputs(data.view.frame, origins))[..., 1]
    np.testing.assert_allclose(forecast[..., 1], factor * raw_median, atol=1e-12)
    # The synthetic volatility features are noise (some negative): the network's own band is used.
    assert bundle.band["scale_by"] == "model"
    assert len(bundle.band["width"]) == data.horizon


def test_mixed_precision_keeps_the_forecast_in_float32() -> None:
    """It computes in float16 under the GPU policy but outputs float32 quantiles, then restores."""
    import keras

    from training_pipeline.config import Architecture, TrainConfig
    from training_pipeline.fit import precision
    from training_pipeline.models import build_model

    config = TrainConfig(mixed_precision=True)
    with precision(config, "CPU") as policy:
        assert policy == "float32"
    with precision(config, "GPU") as policy:
        assert policy == "mixed_float16"
        model = build_model("lstm", Architecture(window=4, units=4), n_features=3, horizon=7)
        assert model.get_layer("quantiles").compute_dtype == "float32"
        assert model.output.dtype == "float32"
        assert model.layers[1].compute_dtype == "float16"
    assert keras.mixed_precision.global_policy().name == "float32"
