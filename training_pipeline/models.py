"""Model builders: an MLP on the flattened window and an LSTM, both with quantile outputs."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from training_pipeline.config import KINDS, QUANTILES, Architecture

# softplus(1.0) ~= 1.31: the untrained interval starts near +-1.28 target standard deviations,
# i.e. roughly the 80% band of a normal distribution.
_SPREAD_OFFSET = 1.0


@keras.saving.register_keras_serializable(package="candlecast")
class QuantileHead(layers.Layer):
    """Turn (batch, horizon * 3) into monotone (low, median, high) per horizon.

    low = median - softplus(a), high = median + softplus(b): the quantiles can never cross.
    """

    def __init__(self, horizon: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.horizon = horizon

    def call(self, inputs: Any) -> Any:
        raw = ops.reshape(inputs, (-1, self.horizon, 3))
        median = raw[..., 1]
        low = median - ops.softplus(raw[..., 0] + _SPREAD_OFFSET)
        high = median + ops.softplus(raw[..., 2] + _SPREAD_OFFSET)
        return ops.stack([low, median, high], axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "horizon": self.horizon}


@keras.saving.register_keras_serializable(package="candlecast")
class PinballLoss(keras.losses.Loss):
    """The pinball loss of (batch, horizon, quantiles) predictions against (batch, horizon)."""

    def __init__(self, quantiles: tuple[float, ...] = QUANTILES, **kwargs: Any) -> None:
        super().__init__(name=kwargs.pop("name", "pinball"), **kwargs)
        self.quantiles = tuple(quantiles)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        levels = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        error = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1) - y_pred
        return ops.mean(ops.maximum(levels * error, (levels - 1.0) * error), axis=(-2, -1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "quantiles": list(self.quantiles)}


def build_model(
    kind: str,
    arch: Architecture,
    *,
    n_features: int,
    horizon: int,
    compile_model: bool = True,
) -> keras.Model:
    """Build an MLP or LSTM taking (window, features) and forecasting all horizons at once."""
    if kind not in KINDS:
        raise ValueError(f"model kind {kind!r} is unknown; use one of {KINDS}")
    inputs = keras.Input(shape=(arch.window, n_features), name="window")
    x = _mlp_body(inputs, arch) if kind == "mlp" else _lstm_body(inputs, arch)
    # A zero-initialised output starts every model at the persistence forecast (median return 0).
    # The head stays float32 under a mixed-precision policy (GPU): quantile gaps are small numbers.
    x = layers.Dense(horizon * 3, kernel_initializer="zeros", name="quantiles", dtype="float32")(x)
    outputs = QuantileHead(horizon, name="forecast", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=kind)
    if compile_model:
        model.compile(
            optimizer=keras.optimizers.Adam(arch.learning_rate), loss=PinballLoss(QUANTILES)
        )
    return model


def _mlp_body(inputs: Any, arch: Architecture) -> Any:
    x = layers.Flatten()(inputs)
    for _ in range(arch.layers):
        x = layers.Dense(arch.units, activation="relu")(x)
        x = layers.Dropout(arch.dropout)(x)
    return x


def _lstm_body(inputs: Any, arch: Architecture) -> Any:
    x = inputs
    for i in range(arch.layers):
        # Default activations, no recurrent dropout and no unrolling keep the cuDNN kernel usable.
        x = layers.LSTM(arch.units, return_sequences=i < arch.layers - 1)(x)
        x = layers.Dropout(arch.dropout)(x)
    return x


def with_candle_head(model: keras.Model, horizon: int) -> tuple[keras.Model, keras.Model]:
    """A second quantile head for each future candle's high and low on the frozen network body.

    Returns (trainer, combined): the trainer maps the window to (batch, 2 * horizon, 3) quantiles
    of the scaled targets (high, low per horizon) for the pinball loss; the combined model outputs
    (batch, horizon, 9), the close quantiles exactly as `model` gives them followed by the high
    and low quantiles. The body and the close head are frozen, so the close outputs stay the same.
    """
    for layer in model.layers:
        layer.trainable = False
    body = model.get_layer("quantiles").input
    x = layers.Dense(
        horizon * 6, kernel_initializer="zeros", name="candle_quantiles", dtype="float32"
    )(body)
    candle = QuantileHead(2 * horizon, name="candle", dtype="float32")(x)
    trainer = keras.Model(model.inputs, candle, name=f"{model.name}_candle")
    per_horizon = layers.Reshape((horizon, 6), name="candle_per_horizon", dtype="float32")(candle)
    outputs = layers.Concatenate(axis=-1, name="forecast_and_candle", dtype="float32")(
        [model.output, per_horizon]
    )
    return trainer, keras.Model(model.inputs, outputs, name=model.name)
