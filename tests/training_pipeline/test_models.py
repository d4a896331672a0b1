"""Tests for the model builders: pinball loss, monotone quantile head, cuDNN-ready LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from training_pipeline.config import Architecture


@pytest.fixture(scope="module")
def models():
    """The Keras model module, imported when a test of it runs (collection stays TF-free)."""
    from training_pipeline import models

    return models


def test_pinball_loss_on_a_known_case(models) -> None:
    """It charges q * error below the actual value and (1 - q) * error above it."""
    y_true = np.array([[1.0]], dtype="float32")
    y_pred = np.array([[[0.0, 1.0, 3.0]]], dtype="float32")  # errors 1, 0, -2
    loss = float(models.PinballLoss((0.1, 0.5, 0.9))(y_true, y_pred))
    assert loss == pytest.approx((0.1 * 1 + 0.0 + 0.1 * 2) / 3, rel=1e-6)


def test_quantile_head_never_crosses(models) -> None:
    """It orders low <= median <= high whatever the raw outputs are."""
    raw = np.random.default_rng(0).normal(scale=10.0, size=(64, 7 * 3)).astype("float32")
    out = np.asarray(models.QuantileHead(7)(raw))
    assert out.shape == (64, 7, 3)
    assert (out[..., 0] <= out[..., 1]).all() and (out[..., 1] <= out[..., 2]).all()


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_untrained_models_start_at_persistence(models, kind: str) -> None:
    """It starts every network at a zero median return, all horizons at once."""
    arch = Architecture(window=6, layers=2, units=8)
    model = models.build_model(kind, arch, n_features=4, horizon=9)
    x = np.random.default_rng(1).normal(size=(5, 6, 4)).astype("float32")
    out = np.asarray(model(x))
    assert out.shape == (5, 9, 3)
    np.testing.assert_array_equal(out[..., 1], 0.0)


def test_lstm_keeps_the_cudnn_settings(models) -> None:
    """It builds LSTM layers the cuDNN kernel accepts (tanh, sigmoid, no recurrent dropout)."""
    arch = Architecture(window=6, layers=2, units=8)
    model = models.build_model("lstm", arch, n_features=4, horizon=9)
    lstms = [layer for layer in model.layers if isinstance(layer, models.layers.LSTM)]
    assert len(lstms) == 2
    for layer in lstms:
        config = layer.get_config()
        assert config["activation"] == "tanh" and config["recurrent_activation"] == "sigmoid"
        assert config["recurrent_dropout"] == 0 and not config["unroll"] and config["use_bias"]
